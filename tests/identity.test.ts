import { describe, expect, it } from 'vitest'
import type { ConfigEnv } from '../src/config.js'
import { startTestServer } from './_util/test-server.js'

async function didDocumentOf(env: ConfigEnv) {
  const server = await startTestServer(env)
  try {
    const res = await server.get('/.well-known/did.json')
    const body = (await res.json()) as { id: string; service: { serviceEndpoint: string }[] }
    return { status: res.status, body, port: new URL(server.url).port }
  } finally {
    await server.close()
  }
}

describe('/.well-known/did.json', () => {
  it('derives a did:web of localhost and the real port when nothing is configured', async () => {
    const { status, body, port } = await didDocumentOf({})
    expect(status).toBe(200)
    expect(body).toEqual({
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: `did:web:localhost%3A${port}`,
      service: [{ id: '#cocore_console', type: 'CocoreConsole', serviceEndpoint: `http://localhost:${port}` }],
    })
  })

  it('serves the did:web of PUBLIC_URL', async () => {
    const { body } = await didDocumentOf({ PUBLIC_URL: 'https://account.cocore.dev' })
    expect(body.id).toBe('did:web:account.cocore.dev')
    expect(body.service[0].serviceEndpoint).toBe('https://account.cocore.dev')
  })

  it('answers 404 when SERVICE_DID is not a did:web of this host', async () => {
    const { status, body } = await didDocumentOf({ PUBLIC_URL: 'https://account.cocore.dev', SERVICE_DID: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz' })
    expect(status).toBe(404)
    expect(body).toMatchObject({ error: 'NotFound' })
  })
})
