import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { readConfig } from '../src/config.js'
import { AppContext } from '../src/context.js'
import { openDatabase } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'
import { databaseUrl } from './_util/test-server.js'

afterEach(() => {
  vi.useRealTimers()
})

const logger = createLogger('silent')

/** The configuration a command reads, on a data folder of its own (or the file's Postgres database). */
function commandConfig() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-background-'))
  onTestFinished(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  return readConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }, 'test')
}

describe('background work', () => {
  // Every CLI command opens a context; only `serve` starts it. A one-shot command that
  // ticked the key-usage flush or the jti sweep would run work nobody asked for.
  it('starts no timer while a command holds the context open; start starts them and destroy stops them all', async () => {
    const cfg = commandConfig()
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    // What the open database keeps by itself: the embedded data folder's lock heartbeat.
    const database = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, logger })
    const databaseTimers = vi.getTimerCount()
    await database.close()

    const ctx = await AppContext.create(cfg, logger)
    try {
      expect(vi.getTimerCount()).toBe(databaseTimers)
      await ctx.startBackgroundWork()
      // lastUsedAt writes, the jti sweep, the audit trail's flush and retention sweep.
      expect(vi.getTimerCount()).toBeGreaterThanOrEqual(databaseTimers + 4)
    } finally {
      await ctx.destroy()
    }
    expect(vi.getTimerCount()).toBe(0)
  })
})
