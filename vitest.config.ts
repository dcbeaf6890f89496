import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The end-to-end suite is its own package (npm --prefix tests/integration test).
    exclude: ['tests/integration/**', '**/node_modules/**'],
    // Each file starts its own server and database (an embedded one takes ~3 s to create).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the embedded databases compete.
    maxWorkers: 2,
  },
})
