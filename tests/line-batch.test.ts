import { describe, expect, it } from 'vitest'
import { LineBatch } from '../src/logger.js'

/** A LineBatch over a recorder of the chunks it writes. */
function batchOf(minLength: number) {
  const writes: string[] = []
  return { batch: new LineBatch({ write: (chunk: string) => writes.push(chunk) }, minLength), writes }
}

describe("serve's log batches", () => {
  it('writes nothing until a batch reaches its length, then every line so far as one write, in order', () => {
    const { batch, writes } = batchOf(10)
    batch.write('one\n')
    batch.write('two\n')
    expect(writes).toEqual([])
    batch.write('three\n')
    expect(writes).toEqual(['one\ntwo\nthree\n'])
    batch.write('four\n')
    expect(writes).toEqual(['one\ntwo\nthree\n'])
  })

  it('writes what is gathered when flushed (the timer, the exit), and nothing when there is nothing', () => {
    const { batch, writes } = batchOf(4096)
    batch.flush()
    expect(writes).toEqual([])
    batch.write('{"msg":"a"}\n')
    batch.write('{"msg":"b"}\n')
    batch.flush()
    batch.flush()
    expect(writes).toEqual(['{"msg":"a"}\n{"msg":"b"}\n'])
  })
})
