import { afterAll, beforeAll } from 'vitest'
import { fileDatabase } from './file-database.js'
import { createDatabase, dropDatabase } from './postgres-databases.js'

// A setup file: vitest runs it in every test file, before the file's own hooks (and its
// afterAll after theirs), sharing the file's modules, so fileDatabase is the file's.
if (fileDatabase) {
  const { name, template } = fileDatabase
  beforeAll(() => createDatabase(name, template))
  afterAll(() => dropDatabase(name))
}
