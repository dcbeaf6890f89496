import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    // dev-env writes its PDS data and port locks under os.tmpdir(), and Chromium its
    // profiles: a scratch TMPDIR, set before any worker starts and removed after the run.
    globalSetup: ['support/scratch-tmpdir.ts'],
    // One PDS, PLC and browser for the whole file; a sign-in on the PDS's pages takes
    // seconds, and dev-env's start several more on a loaded machine.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
