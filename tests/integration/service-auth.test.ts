// End to end, offline: an account on a real PDS (@atproto/dev-env, in-memory PLC) calls the
// account service through its PDS (atproto-proxy), and publishes our lexicons to its repo.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { TestNetworkNoAppView } from '@atproto/dev-env'
import { createServiceJwt } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// The service as built by the root package (npm ci / npm test build it).
import { AccountServer, createLogger, readConfig } from '../../dist/src/index.js'

const root = path.resolve(import.meta.dirname, '../..')
let network: TestNetworkNoAppView
let service: AccountServer
let serviceUrl: string
let serviceDid: string
let dataDir: string
const alice = { handle: 'alice.test', email: 'alice@test.invalid', password: 'alice-pass' }
let aliceDid: string
let agent: AtpAgent

beforeAll(async () => {
  network = await TestNetworkNoAppView.create({})
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-e2e-'))
  const cfg = readConfig({ PORT: '0', DATA_DIR: dataDir, PLC_URL: network.plc.url, LOG_LEVEL: 'warn' }, 'e2e')
  service = await AccountServer.create(cfg, createLogger('warn'))
  const address = await service.start()
  serviceUrl = `http://localhost:${address.port}`
  serviceDid = service.ctx.identity.did
  agent = network.pds.getAgent()
  aliceDid = (await agent.createAccount(alice)).data.did
})

afterAll(async () => {
  await service?.destroy()
  await network?.close()
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
})

const accessJwt = () => agent.session?.accessJwt ?? ''

/** A call made to Alice's PDS, which signs a service-auth token and proxies it to us. */
async function viaPds(method: string, body?: unknown) {
  const res = await fetch(`${network.pds.url}/xrpc/dev.cocore.account.${method}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${accessJwt()}`,
      'atproto-proxy': `${serviceDid}#cocore_console`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** A call made straight to us with the given token. */
async function direct(method: string, token: string, body: unknown = { name: 'direct' }) {
  const res = await fetch(`${serviceUrl}/xrpc/dev.cocore.account.${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function serviceAuth(params: { aud?: string; lxm: string; exp?: number }) {
  const { data } = await agent.com.atproto.server.getServiceAuth({ aud: params.aud ?? serviceDid, lxm: params.lxm, exp: params.exp })
  return data.token
}

describe('calls proxied by the PDS', () => {
  it('create, list, revoke and delete keys of the calling account', async () => {
    const created = await viaPds('createApiKey', { name: 'minted through my PDS' })
    expect(created.status).toBe(200)
    const key = created.body.key as { id: string; did: string }
    expect(key.did).toBe(aliceDid)

    const listed = await viaPds('listApiKeys')
    expect((listed.body.keys as { id: string }[]).map((k) => k.id)).toContain(key.id)
    expect(await viaPds('revokeApiKey', { id: key.id })).toMatchObject({ status: 200, body: { revoked: true } })
    expect(await viaPds('deleteApiKey', { id: key.id })).toMatchObject({ status: 200, body: { deleted: true } })
    expect(await viaPds('getSession')).toMatchObject({ status: 200, body: { did: aliceDid, authType: 'serviceAuth' } })
  })
})

describe('service-auth tokens that must be refused', () => {
  const lxm = 'dev.cocore.account.createApiKey'
  const now = () => Math.floor(Date.now() / 1000)

  it.each([
    ['for another audience', 'BadJwtAudience', () => serviceAuth({ aud: 'did:web:elsewhere.test', lxm })],
    ['for another method', 'BadJwtLexiconMethod', () => serviceAuth({ lxm: 'dev.cocore.account.deleteApiKey' })],
    ['valid for an hour', 'BadJwtLifetime', () => serviceAuth({ lxm, exp: now() + 3600 })],
    [
      'expired',
      'JwtExpired',
      async () =>
        createServiceJwt({ iss: aliceDid, aud: serviceDid, lxm, iat: now() - 120, exp: now() - 60, keypair: await network.pds.ctx.actorStore.keypair(aliceDid) }),
    ],
    [
      'signed by the wrong key',
      'BadJwtSignature',
      async () => createServiceJwt({ iss: aliceDid, aud: serviceDid, lxm, keypair: await Secp256k1Keypair.create() }),
    ],
  ])('a token %s: 401 %s', async (_case, errorName, makeToken) => {
    const res = await direct('createApiKey', await makeToken())
    expect(res.status).toBe(401)
    expect(res.body.error).toBe(errorName)
  })

  it('a replayed token: 401 JwtReplayed', async () => {
    const token = await serviceAuth({ lxm })
    expect((await direct('createApiKey', token)).status).toBe(200)
    const replay = await direct('createApiKey', token)
    expect(replay).toMatchObject({ status: 401, body: { error: 'JwtReplayed' } })
  })
})

describe('lexicons publish against the PDS', () => {
  const publish = () =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(root, 'dist/src/cli/bin.js'), 'lexicons', 'publish', '--pds', network.pds.url, '--identifier', alice.handle], {
        env: { PATH: process.env.PATH, ATPROTO_APP_PASSWORD: alice.password, LEXICON_AUTHORITY_DID: aliceDid, LOG_LEVEL: 'warn' },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('close', (status) => resolve({ status, stdout, stderr }))
    })

  it('writes one record per dev.cocore lexicon, nothing the second time, and resolveLexicon agrees with the PDS', async () => {
    const first = await publish()
    expect(first.status).toBe(0)
    const written = JSON.parse(first.stdout).written as { nsid: string }[]
    expect(written.length).toBeGreaterThan(0)
    expect(written.every((record) => record.nsid.startsWith('dev.cocore.'))).toBe(true)

    const second = await publish()
    expect(JSON.parse(second.stdout)).toMatchObject({ written: [] })

    // resolveLexicon on a service that names Alice as the lexicon authority
    const cfg = readConfig({ PORT: '0', DATA_DIR: `${dataDir}-lex`, PLC_URL: network.plc.url, LEXICON_AUTHORITY_DID: aliceDid, LOG_LEVEL: 'warn' }, 'e2e')
    const lexService = await AccountServer.create(cfg, createLogger('warn'))
    const { port } = await lexService.start()
    try {
      for (const { nsid } of written) {
        const resolved = await (await fetch(`http://localhost:${port}/xrpc/com.atproto.lexicon.resolveLexicon?nsid=${nsid}`)).json()
        const { data } = await agent.com.atproto.repo.getRecord({ repo: aliceDid, collection: 'com.atproto.lexicon.schema', rkey: nsid })
        expect(resolved.uri).toBe(data.uri)
        expect(resolved.cid).toBe(data.cid)
      }
    } finally {
      await lexService.destroy()
      fs.rmSync(`${dataDir}-lex`, { recursive: true, force: true })
    }
  })
})
