import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
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
 *
 * A pid means something only in its own PID namespace: from another container sharing
 * DATA_DIR (or under `unshare --pid`) a live server's pid looks dead, and the pid test alone
 * would take its lock. So the lock also names the holder's PID namespace and host, and the
 * holder touches it every few seconds. From the same namespace the pid decides, and a dead
 * holder's lock is taken over at once; from anywhere else the lock is live while it is fresh.
 */
export class DataDirLockedError extends Error {}

const lockFileName = 'cocore-account.pid'
/** A lock or guard file this old without a live owner is left over from a crash. */
const abandonedAfterMs = 10_000
const attempts = 20
const heldByThisProcess = new Set<string>()

export type LockTiming = {
  /** How often the holder touches its lock, so that other namespaces see it live. */
  refreshMs: number
  /**
   * How long a lock from another namespace stays live untouched. Far above refreshMs: PGlite
   * runs on the event loop and can block it (and so the touch) for seconds.
   */
  staleAfterMs: number
}
const defaultTiming: LockTiming = { refreshMs: 5_000, staleAfterMs: 60_000 }

export type DataDirLock = { release(): void }

export function lockDataDir(dataDir: string, timing: LockTiming = defaultTiming): DataDirLock {
  const lockPath = path.join(dataDir, lockFileName)
  if (heldByThisProcess.has(lockPath)) {
    throw new DataDirLockedError(`the embedded database in ${dataDir} is already open in this process`)
  }
  const here = thisProcessPlace()
  // The pid stays first on the line: older versions read only that.
  const content = `${process.pid} pidns=${here.namespace} host=${here.host} nonce=${randomUUID()}\n`
  const descriptor = acquire(lockPath, dataDir, content, here, timing)
  heldByThisProcess.add(lockPath)
  // Touched through its descriptor: only ever this process's own lock file, never one that
  // another process put in its place. Unref'd: the lock never keeps a process alive.
  const heartbeat = setInterval(() => touch(descriptor), timing.refreshMs).unref()
  const releaseOnExit = () => release()
  process.once('exit', releaseOnExit)
  let released = false
  function release() {
    if (released) return
    released = true
    clearInterval(heartbeat)
    fs.closeSync(descriptor)
    process.removeListener('exit', releaseOnExit)
    heldByThisProcess.delete(lockPath)
    if (readLock(lockPath)?.content === content) fs.rmSync(lockPath, { force: true })
  }
  return { release }
}

/** Takes the lock; returns the open descriptor of the lock file. */
function acquire(lockPath: string, dataDir: string, content: string, here: Place, timing: LockTiming): number {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const descriptor = tryCreate(lockPath, content)
    if (descriptor !== undefined) return descriptor
    const holder = readLock(lockPath)
    if (holder === undefined) continue // released meanwhile: try again
    if (isHeld(holder, here, timing)) {
      const elsewhere = holder.place && !samePlace(holder.place, here) ? ` in another PID namespace on host ${holder.place.host}` : ''
      throw new DataDirLockedError(
        `the embedded database in ${dataDir} is in use by process ${holder.pid ?? '(unknown)'}${elsewhere} ` +
          '(only one process may open it; stop that process, or use DATABASE_URL for a shared database)',
      )
    }
    // The holder died without cleaning up (kill -9, power loss): take the lock over.
    removeIfStill(lockPath, holder.content)
    sleep(5 + Math.random() * 20)
  }
  throw new DataDirLockedError(`could not take the lock ${lockPath}; is another process starting on ${dataDir}?`)
}

function isHeld(holder: LockFile, here: Place, timing: LockTiming): boolean {
  if (holder.pid === undefined) return holder.ageMs < abandonedAfterMs
  // A lock written by an older version names no place: judged as that version judged it, by its pid.
  if (holder.place === undefined || samePlace(holder.place, here)) return isAlive(holder.pid)
  // Its pid means nothing here: only the holder's touches show that it lives.
  return holder.ageMs < timing.staleAfterMs
}

/** Creates the lock with its content in one step; its descriptor, or undefined if a lock is already there. */
function tryCreate(lockPath: string, content: string): number | undefined {
  const temporary = `${lockPath}.${randomUUID()}.tmp`
  const descriptor = fs.openSync(temporary, 'wx', 0o600)
  try {
    fs.writeFileSync(descriptor, content)
    fs.linkSync(temporary, lockPath)
    return descriptor
  } catch (err) {
    fs.closeSync(descriptor)
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw err
  } finally {
    fs.rmSync(temporary, { force: true })
  }
}

function touch(descriptor: number): void {
  try {
    const now = new Date()
    fs.futimesSync(descriptor, now, now)
  } catch {
    // A timer must not crash the server; a file system that refuses the touch (remounted
    // read-only) fails the database itself soon enough.
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

/**
 * Where a pid means something: a PID namespace on a host. The namespace id alone is not
 * enough, as every Linux host's first namespace has the same id and a DATA_DIR on a network
 * share is seen from several hosts.
 */
type Place = { namespace: string; /** URI-encoded: one word on the line whatever the name. */ host: string }

function thisProcessPlace(): Place {
  return { namespace: pidNamespace(), host: encodeURIComponent(os.hostname()) }
}

/**
 * This process's PID namespace, e.g. `pid:[4026531836]`. Without /proc (macOS, the BSDs)
 * there are no PID namespaces to tell apart: processes there that cannot read it share one
 * pid space per host, and the pid test holds between them. A Linux container on such a host
 * can read its own, which differs from "unknown", so it judges their locks by freshness.
 */
function pidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid')
  } catch {
    return 'unknown'
  }
}

function samePlace(a: Place, b: Place): boolean {
  return a.namespace === b.namespace && a.host === b.host
}

type LockFile = { content: string; pid: number | undefined; place: Place | undefined; ageMs: number }

function readLock(lockPath: string): LockFile | undefined {
  try {
    const content = fs.readFileSync(lockPath, 'utf8')
    const pid = Number.parseInt(content, 10)
    const place = / pidns=(\S+) host=(\S+)/.exec(content)
    return {
      content,
      pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
      place: place ? { namespace: place[1] ?? '', host: place[2] ?? '' } : undefined,
      ageMs: ageMs(lockPath),
    }
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
