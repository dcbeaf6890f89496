import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src')

/** Every module of src/ (the generated src/lexicon/ aside) and the modules of ours it imports, type-only imports included. */
function importGraph(): Map<string, string[]> {
  const modules = fs
    .readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.startsWith(`lexicon${path.sep}`))
  const graph = new Map<string, string[]>()
  for (const file of modules) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(src, file), 'utf8'), true, true)
    const ours = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => path.relative(src, path.resolve(src, path.dirname(file), specifier)).replace(/\.js$/, '.ts'))
      .filter((target) => !target.startsWith('..') && !target.startsWith(`lexicon${path.sep}`))
    graph.set(file, ours)
  }
  return graph
}

/** The import chains that lead back to where they started (one per cycle found by a depth-first walk). */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = []
  const done = new Set<string>()
  const chain: string[] = []
  const walk = (module: string) => {
    const start = chain.indexOf(module)
    if (start >= 0) return void found.push([...chain.slice(start), module].join(' → '))
    if (done.has(module)) return
    chain.push(module)
    for (const imported of graph.get(module) ?? []) walk(imported)
    chain.pop()
    done.add(module)
  }
  for (const module of graph.keys()) walk(module)
  return found
}

describe('the import graph of src/', () => {
  // A cycle, even of types only, means two modules cannot be understood (or moved) apart.
  it('has no cycle', () => {
    expect(cycles(importGraph())).toEqual([])
  })

  // Configuration is read first and by everyone: it depends on nothing of ours.
  it('lets config.ts import nothing of ours', () => {
    expect(importGraph().get('config.ts')).toEqual([])
  })
})
