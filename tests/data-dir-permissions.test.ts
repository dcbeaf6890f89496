import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/db/database.js'
import { DataDirPermissionError } from '../src/db/data-dir-permissions.js'
import { createLogger } from '../src/logger.js'

// PGlite writes its files 0666 and its folders 0755 whatever the umask; these tests open the
// embedded database directly (not through DATABASE_URL), so they run the same in both passes.
const logger = createLogger('silent')
const modeOf = (file: string) => fs.statSync(file).mode & 0o7777

let parent: string
beforeEach(() => {
  parent = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-modes-'))
})
afterEach(() => fs.rmSync(parent, { recursive: true, force: true }))

describe('the embedded database folder', () => {
  it('is created for its owner only, database folder included', async () => {
    const dataDir = path.join(parent, 'data')
    const database = await openDatabase({ databaseUrl: undefined, dataDir, logger, migrate: false })
    await database.close()
    expect(modeOf(dataDir)).toBe(0o700)
    expect(modeOf(path.join(dataDir, 'pglite'))).toBe(0o700)
  })

  it('is opened when others may read it, and its database folder closed to them, as an older version left it', async () => {
    const dataDir = path.join(parent, 'data')
    fs.mkdirSync(path.join(dataDir, 'pglite'), { recursive: true })
    fs.chmodSync(dataDir, 0o755)
    fs.chmodSync(path.join(dataDir, 'pglite'), 0o755)
    const database = await openDatabase({ databaseUrl: undefined, dataDir, logger, migrate: false })
    await database.close()
    expect(modeOf(path.join(dataDir, 'pglite'))).toBe(0o700)
  })

  it.each([
    ['group-writable', 0o770],
    ['world-writable', 0o707],
    ['group-writable, as a umask of 002 makes it', 0o775],
    ['world-writable with the sticky bit, like /tmp', 0o1777],
  ])('is refused when %s, before anything is written to it', async (_case, mode) => {
    const dataDir = path.join(parent, 'data')
    fs.mkdirSync(dataDir)
    fs.chmodSync(dataDir, mode)
    await expect(openDatabase({ databaseUrl: undefined, dataDir, logger, migrate: false })).rejects.toThrow(DataDirPermissionError)
    expect(fs.readdirSync(dataDir)).toEqual([])
    expect(modeOf(dataDir)).toBe(mode)
  })
})
