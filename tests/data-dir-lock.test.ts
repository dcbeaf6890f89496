import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DataDirLockedError, lockDataDir, type DataDirLock } from '../src/db/data-dir-lock.js'

// The lock file is a contract with other processes, older versions among them (they read the
// pid first on the line), so these tests write it by hand: `PID pidns=… host=… nonce=…`.
const thisNamespace = readPidNamespace()
const otherNamespace = thisNamespace === 'pid:[4026532999]' ? 'pid:[4026533000]' : 'pid:[4026532999]'
const thisHost = encodeURIComponent(os.hostname())
/** No process has this pid here (above the kernel's pid_max), the way a pid from another namespace looks. */
const deadPid = 4_999_999
/** The process that started this test worker: alive for as long as the test runs. */
const livePid = process.ppid

let dataDir: string
let lockPath: string
let held: DataDirLock | undefined

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-lock-'))
  lockPath = path.join(dataDir, 'cocore-account.pid')
})
afterEach(() => {
  held?.release()
  held = undefined
  vi.useRealTimers()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** As the lock reads it: without /proc (macOS) there are no PID namespaces to tell apart. */
function readPidNamespace() {
  try {
    return fs.readlinkSync('/proc/self/ns/pid')
  } catch {
    return 'unknown'
  }
}

function writeLock(content: string, ageMs = 0) {
  fs.writeFileSync(lockPath, content)
  const mtime = new Date(Date.now() - ageMs)
  fs.utimesSync(lockPath, mtime, mtime)
}

function expectRefused(content: string) {
  expect(() => (held = lockDataDir(dataDir))).toThrow(DataDirLockedError)
  expect(fs.readFileSync(lockPath, 'utf8')).toBe(content)
}

function expectTakenOver(timing?: Parameters<typeof lockDataDir>[1]) {
  held = lockDataDir(dataDir, timing)
  expect(fs.readFileSync(lockPath, 'utf8')).toMatch(new RegExp(`^${process.pid} `))
}

describe('a lock from another PID namespace (another container)', () => {
  const foreign = `${deadPid} pidns=${otherNamespace} host=${thisHost} nonce=a\n`

  it('is refused while its holder keeps it fresh, though its pid looks dead here', () => {
    writeLock(foreign, 30_000)
    expectRefused(foreign)
  })

  it('names the holder in one line', () => {
    writeLock(foreign)
    expect(() => lockDataDir(dataDir)).toThrow(new RegExp(`^[^\\n]*in use by process ${deadPid}[^\\n]*$`))
  })

  it('is taken over once unrefreshed past the stale bound (60 s)', () => {
    writeLock(foreign, 61_000)
    expectTakenOver()
  })

  it('is taken over after an injected stale bound', () => {
    writeLock(foreign, 2_000)
    expectTakenOver({ refreshMs: 100, staleAfterMs: 1_000 })
  })

  it('includes one from another host with the same namespace id (every host has the same first one)', () => {
    const otherHost = `${deadPid} pidns=${thisNamespace} host=${thisHost}-elsewhere nonce=a\n`
    writeLock(otherHost)
    expectRefused(otherHost)
  })
})

describe('a lock from this PID namespace', () => {
  it('is taken over at once when its process is dead', () => {
    writeLock(`${deadPid} pidns=${thisNamespace} host=${thisHost} nonce=a\n`)
    expectTakenOver()
  })

  it('is refused while its process lives, however old the lock', () => {
    const content = `${livePid} pidns=${thisNamespace} host=${thisHost} nonce=a\n`
    writeLock(content, 600_000)
    expectRefused(content)
  })
})

describe('a lock written by an older version (pid and nonce only)', () => {
  it('is taken over at once when its process is dead', () => {
    writeLock(`${deadPid} 0b7c2d9e-6a43-4f7e-9a51-3f0c0e0a1b2c\n`)
    expectTakenOver()
  })

  it('is refused while its process lives', () => {
    const content = `${livePid} 0b7c2d9e-6a43-4f7e-9a51-3f0c0e0a1b2c\n`
    writeLock(content)
    expectRefused(content)
  })
})

describe('the held lock', () => {
  it('names its pid first, then its namespace and host', () => {
    held = lockDataDir(dataDir)
    expect(fs.readFileSync(lockPath, 'utf8')).toMatch(
      new RegExp(`^${process.pid} pidns=${thisNamespace.replace(/[[\]]/g, '\\$&')} host=${thisHost} nonce=\\S+\\n$`),
    )
  })

  it('is refreshed every 5 s, so other namespaces see it live, until released', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    held = lockDataDir(dataDir)
    const longAgo = new Date(Date.now() - 50_000)
    fs.utimesSync(lockPath, longAgo, longAgo)

    vi.advanceTimersByTime(5_000)
    expect(Date.now() - fs.statSync(lockPath).mtimeMs).toBeLessThan(10_000)

    held.release()
    held = undefined
    expect(fs.existsSync(lockPath)).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })
})
