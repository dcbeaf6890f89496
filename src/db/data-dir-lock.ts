import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * PGlite has no lock of its own: two processes can open one data folder without an error
 * and silently corrupt it (electric-sql/pglite#1106). Every process that opens the embedded
 * database (server, migrate, every CLI command) takes this pid-file lock first.
 *
 * The lock file appears atomically with its content (written to a temporary file, then
 * hard-linked into place, which fails if a lock exists), so no process ever reads a
 * half-written lock. A lock whose process is gone is taken over, one process at a time
 * (a second, short-lived guard file), and only if it still is the lock judged stale.
 */
export class DataDirLockedError extends Error {}

const lockFileName = 'cocore-account.pid'
/** A lock or guard file this old without a live owner is left over from a crash. */
const abandonedAfterMs = 10_000
const attempts = 20
const heldByThisProcess = new Set<string>()

export type DataDirLock = { release(): void }

export function lockDataDir(dataDir: string): DataDirLock {
  const lockPath = path.join(dataDir, lockFileName)
  if (heldByThisProcess.has(lockPath)) {
    throw new DataDirLockedError(`the embedded database in ${dataDir} is already open in this process`)
  }
  const content = `${process.pid} ${randomUUID()}\n`
  acquire(lockPath, dataDir, content)
  heldByThisProcess.add(lockPath)
  const releaseOnExit = () => release()
  process.once('exit', releaseOnExit)
  let released = false
  function release() {
    if (released) return
    released = true
    process.removeListener('exit', releaseOnExit)
    heldByThisProcess.delete(lockPath)
    if (readLock(lockPath)?.content === content) fs.rmSync(lockPath, { force: true })
  }
  return { release }
}

function acquire(lockPath: string, dataDir: string, content: string): void {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (tryCreate(lockPath, content)) return
    const holder = readLock(lockPath)
    if (holder === undefined) continue // released meanwhile: try again
    if (holder.pid !== undefined ? isAlive(holder.pid) : holder.ageMs < abandonedAfterMs) {
      throw new DataDirLockedError(
        `the embedded database in ${dataDir} is in use by process ${holder.pid ?? '(unknown)'} ` +
          '(only one process may open it; stop that process, or use DATABASE_URL for a shared database)',
      )
    }
    // The holder died without cleaning up (kill -9, power loss): take the lock over.
    removeIfStill(lockPath, holder.content)
    sleep(5 + Math.random() * 20)
  }
  throw new DataDirLockedError(`could not take the lock ${lockPath}; is another process starting on ${dataDir}?`)
}

/** Creates the lock with its content in one step; false if a lock is already there. */
function tryCreate(lockPath: string, content: string): boolean {
  const temporary = `${lockPath}.${randomUUID()}.tmp`
  fs.writeFileSync(temporary, content, { mode: 0o600 })
  try {
    fs.linkSync(temporary, lockPath)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    fs.rmSync(temporary, { force: true })
  }
}

/** Removes a stale lock, unless another process replaced it meanwhile; one remover at a time. */
function removeIfStill(lockPath: string, staleContent: string): void {
  const guardPath = `${lockPath}.takeover`
  let guard: number
  try {
    guard = fs.openSync(guardPath, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    // Someone else is taking over; clear the guard only if its owner died mid-way.
    if (ageMs(guardPath) > abandonedAfterMs) fs.rmSync(guardPath, { force: true })
    return
  }
  try {
    if (readLock(lockPath)?.content === staleContent) fs.rmSync(lockPath, { force: true })
  } finally {
    fs.closeSync(guard)
    fs.rmSync(guardPath, { force: true })
  }
}

type LockFile = { content: string; pid: number | undefined; ageMs: number }

function readLock(lockPath: string): LockFile | undefined {
  try {
    const content = fs.readFileSync(lockPath, 'utf8')
    const pid = Number.parseInt(content, 10)
    return { content, pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, ageMs: ageMs(lockPath) }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs
  } catch {
    return 0
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

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
