import fs from 'node:fs'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { LexiconDoc } from '@atproto/lexicon'
import { createServer as createXrpcServer, type MethodConfig } from '@atproto/xrpc-server'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendJsonOutputsAsBytes } from '../src/http/json-output.js'
import { packageRoot } from '../src/package-root.js'

const lexicons: LexiconDoc[] = [
  {
    lexicon: 1,
    id: 'test.json.word',
    defs: {
      main: {
        type: 'query',
        parameters: { type: 'params', properties: { drift: { type: 'boolean' } } },
        output: {
          encoding: 'application/json',
          schema: { type: 'object', required: ['word'], properties: { word: { type: 'string' }, letters: { type: 'array', items: { type: 'string' } } } },
        },
      },
    },
  },
]

/** The method: a body with a non-ASCII word (byte length ≠ length), or with `drift` one its lexicon refuses. */
const method: MethodConfig = {
  handler: async ({ params }) => ({
    encoding: 'application/json',
    headers: { 'x-answer': 'yes' },
    body: params.drift ? { word: 42 } : { word: 'žluťoučký', letters: ['ž', 'l'], note: undefined },
  }),
}

/** An app serving the method, its JSON sent by xrpc-server itself or, with `bytes`, as bytes serialized by us. */
async function serve(opts: { bytes: boolean; validate: boolean }): Promise<{ url: string; server: http.Server }> {
  const xrpc = createXrpcServer(lexicons, { validateResponse: opts.validate })
  if (opts.bytes) sendJsonOutputsAsBytes(xrpc)
  xrpc.method('test.json.word', method)
  const app = express()
  app.set('etag', false)
  app.use(xrpc.router)
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

describe('JSON outputs sent as bytes (sendJsonOutputsAsBytes)', () => {
  const servers: http.Server[] = []
  let xrpcServerItself: string
  let asBytes: string
  let asBytesUnchecked: string

  beforeAll(async () => {
    const started = await Promise.all([
      serve({ bytes: false, validate: true }),
      serve({ bytes: true, validate: true }),
      serve({ bytes: true, validate: false }),
    ])
    servers.push(...started.map((s) => s.server))
    ;[xrpcServerItself, asBytes, asBytesUnchecked] = started.map((s) => s.url) as [string, string, string]
  })
  afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))))

  it('sends the same bytes and the same headers as xrpc-server does', async () => {
    const [theirs, ours] = await Promise.all([xrpcServerItself, asBytes].map((url) => fetch(`${url}/xrpc/test.json.word`)))
    const [theirBody, ourBody] = await Promise.all([theirs!.arrayBuffer(), ours!.arrayBuffer()])
    expect(Buffer.from(ourBody).toString('utf8')).toBe('{"word":"žluťoučký","letters":["ž","l"]}')
    expect(Buffer.from(ourBody)).toEqual(Buffer.from(theirBody))
    for (const header of ['content-type', 'content-length', 'x-answer']) expect(ours!.headers.get(header), header).toBe(theirs!.headers.get(header))
    expect(ours!.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(Number(ours!.headers.get('content-length'))).toBe(ourBody.byteLength)
  })

  it('still refuses an output its lexicon does not allow when responses are validated (tests), as xrpc-server does', async () => {
    const [theirs, ours] = await Promise.all([xrpcServerItself, asBytes].map((url) => fetch(`${url}/xrpc/test.json.word?drift=true`)))
    expect(ours!.status).toBe(500)
    expect(await ours!.json()).toEqual(await theirs!.json())
  })

  it('does not validate when responses are not validated (production)', async () => {
    const res = await fetch(`${asBytesUnchecked}/xrpc/test.json.word?drift=true`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ word: 42 })
  })

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(`${asBytes}/xrpc/test.json.word`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })
})

describe('our lexicons', () => {
  /** Every lexicon file of the service. */
  function lexiconFiles(dir = path.join(packageRoot(), 'lexicons')): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name)
      return entry.isDirectory() ? lexiconFiles(full) : entry.name.endsWith('.json') ? [full] : []
    })
  }

  function typesIn(value: unknown): string[] {
    if (Array.isArray(value)) return value.flatMap(typesIn)
    if (value === null || typeof value !== 'object') return []
    const own = typeof (value as { type?: unknown }).type === 'string' ? [(value as { type: string }).type] : []
    return [...own, ...Object.values(value).flatMap(typesIn)]
  }

  it('use no type JSON.stringify would write differently from xrpc-server (bytes, cid-link, blob)', () => {
    const files = lexiconFiles()
    expect(files.length).toBeGreaterThan(10)
    for (const file of files) {
      const types = typesIn(JSON.parse(fs.readFileSync(file, 'utf8')))
      expect(types.filter((type) => ['bytes', 'cid-link', 'blob'].includes(type)), path.relative(packageRoot(), file)).toEqual([])
    }
  })
})
