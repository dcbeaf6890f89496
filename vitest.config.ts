import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The end-to-end and browser suites are packages of their own (tests/integration, tests/browser).
    exclude: ['tests/integration/**', 'tests/browser/**', '**/node_modules/**'],
    // On Postgres (DATABASE_URL set), a database for each test file, copied from a template
    // migrated once per run; both dropped at the end (tests/_util/postgres-databases.ts).
    globalSetup: ['tests/_util/postgres-template.ts'],
    setupFiles: ['tests/_util/setup-file-database.ts'],
    // Each file starts its own server and database (an embedded one takes ~3 s to create).
    // The bounds catch hangs, not slowness: a CLI test spawns up to five processes, each of
    // which loads the embedded database (seconds each), and on a loaded 2-core machine that
    // passed 30 s. Speed is measured by the benchmark and the soak, never asserted here.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    // Two cores: more workers only make the embedded databases compete.
    maxWorkers: 2,
  },
})
