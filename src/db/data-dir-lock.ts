import fs from 'node:fs'
import path from 'node:path'

/**
 * PGlite has no lock of its own: two processes can open one data folder without an error
 * and silently corrupt it (electric-sql/pglite#1106). Every process that opens the embedded
 * database (server, migrate, every CLI command) takes this pid-file lock first.
 */
export class DataDirLockedError extends Error {}

const lockFileName = 'cocore-account.pid'
const heldByThisProcess = new Set<string>()

export type DataDirLock = { release(): void }

export function lockDataDir(dataDir: string): DataDirLock {
  const lockPath = path.join(dataDir, lockFileName)
  if (heldByThisProcess.has(lockPath)) {
    throw new DataDirLockedError(`the embedded database in ${dataDir} is already open in this process`)
  }
  tryCreate(lockPath, dataDir, true)
  heldByThisProcess.add(lockPath)
  const releaseOnExit = () => release()
  process.once('exit', releaseOnExit)
  let released = false
  function release() {
    if (released) return
    released = true
    process.removeListener('exit', releaseOnExit)
    heldByThisProcess.delete(lockPath)
    fs.rmSync(lockPath, { force: true })
  }
  return { release }
}

function tryCreate(lockPath: string, dataDir: string, mayRetry: boolean): void {
  try {
    const fd = fs.openSync(lockPath, 'wx', 0o600)
    fs.writeSync(fd, `${process.pid}\n`)
    fs.closeSync(fd)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const holder = readHolderPid(lockPath)
    if (holder !== undefined && isAlive(holder)) {
      throw new DataDirLockedError(
        `the embedded database in ${dataDir} is in use by process ${holder} ` +
          '(only one process may open it; stop that process, or use DATABASE_URL for a shared database)',
      )
    }
    if (!mayRetry) throw new DataDirLockedError(`could not take the lock ${lockPath}`)
    // The holder died without cleaning up (kill -9, power loss): take the lock over once.
    fs.rmSync(lockPath, { force: true })
    tryCreate(lockPath, dataDir, false)
  }
}

function readHolderPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  // Our own pid in a lock we do not hold is a leftover of an earlier process that had the
  // same pid (pid 1 in every container start), so it is stale.
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
