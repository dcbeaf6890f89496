import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    // A PDS, a PLC and our service start per file; dev-env's start takes seconds.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
