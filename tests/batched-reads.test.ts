import { describe, expect, it } from 'vitest'
import { BatchedReads } from '../src/auth/batched-reads.js'

/** A readMany that records each batch it was asked for and finds the keys in `rows`. */
function recordingReader(rows: Record<string, string>) {
  const batches: string[][] = []
  const readMany = (keys: string[]) => {
    batches.push(keys)
    return Promise.resolve(new Map(keys.filter((key) => key in rows).map((key) => [key, rows[key] as string])))
  }
  return { batches, readMany }
}

describe('batched reads', () => {
  it('reads the keys asked for within the window in one query, each getting its own answer', async () => {
    const { batches, readMany } = recordingReader({ a: 'row a', b: 'row b' })
    const reads = new BatchedReads(readMany, { windowMs: 20, maxBatch: 100 })

    const answers = await Promise.all([reads.read('a'), reads.read('b'), reads.read('gone')])

    expect(answers).toEqual(['row a', 'row b', undefined])
    expect(batches).toEqual([['a', 'b', 'gone']])
  })

  it('asks for a key once however often it is read in one batch', async () => {
    const { batches, readMany } = recordingReader({ a: 'row a' })
    const reads = new BatchedReads(readMany, { windowMs: 20, maxBatch: 100 })

    expect(await Promise.all([reads.read('a'), reads.read('a')])).toEqual(['row a', 'row a'])
    expect(batches).toEqual([['a']])
  })

  it('reads a full batch at once, without waiting out the window', async () => {
    const { batches, readMany } = recordingReader({ a: 'row a', b: 'row b' })
    const reads = new BatchedReads(readMany, { windowMs: 60_000, maxBatch: 2 })

    expect(await Promise.all([reads.read('a'), reads.read('b')])).toEqual(['row a', 'row b'])
    expect(batches).toEqual([['a', 'b']])
  })

  it('starts a new batch for reads after one has been sent', async () => {
    const { batches, readMany } = recordingReader({ a: 'row a', b: 'row b' })
    const reads = new BatchedReads(readMany, { windowMs: 5, maxBatch: 100 })

    await reads.read('a')
    await reads.read('b')

    expect(batches).toEqual([['a'], ['b']])
  })

  it('fails every read of a batch whose query fails, as each would have alone', async () => {
    const down = new Error('the database is unreachable')
    const reads = new BatchedReads<string>(() => Promise.reject(down), { windowMs: 5, maxBatch: 100 })

    const results = await Promise.allSettled([reads.read('a'), reads.read('b')])

    expect(results).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ])
  })

  it('fails the batch, not the caller, when the query throws before it starts', async () => {
    const broken = new Error('cannot build the query')
    const reads = new BatchedReads<string>(
      () => {
        throw broken
      },
      { windowMs: 5, maxBatch: 1 },
    )

    await expect(reads.read('a')).rejects.toBe(broken)
  })
})
