import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Vitest global setup: a scratch TMPDIR for the run. It must be set before the workers
 * start, because dev-env picks its port-lock folder from os.tmpdir() when it is imported.
 */
export default function setup() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-browser-'))
  process.env.TMPDIR = scratch
  return () => fs.rmSync(scratch, { recursive: true, force: true })
}
