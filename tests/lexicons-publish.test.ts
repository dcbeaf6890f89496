import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { lexicons } from '../src/lexicon/lexicons.js'
import { runCli } from './_util/cli.js'
import { startFakePds } from './_util/fake-pds.js'
import { startTestServer } from './_util/test-server.js'

const account = { did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', handle: 'lexicons.cocore.test', password: 'app-pass-word' }
const ownNsids = [
  'dev.cocore.account.createApiKey',
  'dev.cocore.account.defs',
  'dev.cocore.account.deleteApiKey',
  'dev.cocore.account.describeService',
  'dev.cocore.account.getSession',
  'dev.cocore.account.listApiKeys',
  'dev.cocore.account.reportLeakedKeys',
  'dev.cocore.account.revokeAllApiKeys',
  'dev.cocore.account.revokeApiKey',
  'dev.cocore.account.rollApiKey',
  'dev.cocore.account.updateApiKey',
]

// A fresh, empty PDS for every test.
let pds: Awaited<ReturnType<typeof startFakePds>>
beforeEach(async () => {
  pds = await startFakePds(account)
})
afterEach(() => pds.close())

const publish = (extraArgs: string[], env: Record<string, string> = {}, stdin?: string) =>
  runCli(['lexicons', 'publish', '--pds', pds.url, '--identifier', account.handle, ...extraArgs], env, stdin)

describe('cocore-account lexicons publish', () => {
  it('--dry-run validates and says what it would write, with no password and no write', async () => {
    const result = await publish(['--dry-run'], { LEXICON_AUTHORITY_DID: account.did })
    expect(result.status).toBe(0)
    const output = JSON.parse(result.stdout)
    expect(output.written.map((record: { nsid: string }) => record.nsid)).toEqual(ownNsids)
    expect(output.dnsRecords).toEqual([`_lexicon.account.cocore.dev TXT "did=${account.did}"`])
    expect(pds.writes()).toBe(0)
  })

  it('refuses to write as an account other than LEXICON_AUTHORITY_DID', async () => {
    const result = await publish([], { ATPROTO_APP_PASSWORD: account.password, LEXICON_AUTHORITY_DID: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' })
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/nothing was written/)
    expect(pds.writes()).toBe(0)
  })

  it('writes one record per dev.cocore lexicon, then nothing on a second run', async () => {
    const first = await publish([], { ATPROTO_APP_PASSWORD: account.password })
    expect(first.status).toBe(0)
    expect(JSON.parse(first.stdout).written.map((record: { nsid: string }) => record.nsid)).toEqual(ownNsids)
    expect([...pds.records.keys()]).toEqual(ownNsids.map((nsid) => `com.atproto.lexicon.schema/${nsid}`))
    expect(first.stderr).toContain(`_lexicon.account.cocore.dev TXT "did=${account.did}"`)

    // The password may come on stdin instead of the environment (never as a flag).
    const second = await publish([], {}, `${account.password}\n`)
    expect(second.status).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ written: [], unchanged: ownNsids })
    expect(pds.writes()).toBe(ownNsids.length)
  })

  it('gives resolveLexicon the uri and cid the PDS reports for each published record', async () => {
    expect((await publish([], { ATPROTO_APP_PASSWORD: account.password })).status).toBe(0)
    const server = await startTestServer({ LEXICON_AUTHORITY_DID: account.did })
    try {
      for (const nsid of ownNsids) {
        const res = await server.get(`/xrpc/com.atproto.lexicon.resolveLexicon?nsid=${nsid}`)
        const resolved = (await res.json()) as { uri: string; cid: string; schema: unknown }
        const published = pds.records.get(`com.atproto.lexicon.schema/${nsid}`)
        expect(resolved.uri).toBe(`at://${account.did}/com.atproto.lexicon.schema/${nsid}`)
        expect(resolved.cid).toBe(published?.cid)
        expect(resolved.schema).toEqual(published?.value)
        lexicons.assertValidRecord('com.atproto.lexicon.schema', resolved.schema)
      }
      const unknown = await server.get('/xrpc/com.atproto.lexicon.resolveLexicon?nsid=app.bsky.feed.post')
      expect(unknown.status).toBe(400)
      expect(await unknown.json()).toMatchObject({ error: 'LexiconNotFound' })
    } finally {
      await server.close()
    }
  })

  it('exits 2 on a bad --pds and 1 on a wrong password', async () => {
    expect((await runCli(['lexicons', 'publish', '--pds', 'pds.test', '--identifier', 'x'])).status).toBe(2)
    const wrong = await publish([], { ATPROTO_APP_PASSWORD: 'wrong' })
    expect(wrong.status).toBe(1)
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1)
  })

  // Nothing listens at example.com here: the refusal must come before any connection.
  it.each(['http://example.com', 'http://192.0.2.1:2583', 'ftp://pds.example'])(
    'exits 2 naming --pds, before any connection, on %s: the app password never travels in the clear',
    async (url) => {
      const result = await runCli(['lexicons', 'publish', '--pds', url, '--identifier', account.handle], {
        ATPROTO_APP_PASSWORD: account.password,
      })
      expect(result.status).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('--pds')])
    },
  )

  it('accepts an https PDS', async () => {
    const result = await runCli(['lexicons', 'publish', '--pds', 'https://pds.example', '--identifier', account.did, '--dry-run'])
    expect(result.status).toBe(0)
  })

  it('refuses a PDS that redirects, and never sends the password to where it points', async () => {
    const redirecting = await startFakePds(account, { redirectTo: pds.url })
    try {
      const result = await runCli(['lexicons', 'publish', '--pds', redirecting.url, '--identifier', account.handle], {
        ATPROTO_APP_PASSWORD: account.password,
      })
      expect(result.status).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(redirecting.received.map((request) => request.path)).toEqual(['/xrpc/com.atproto.server.createSession'])
      expect(pds.received).toEqual([])
    } finally {
      await redirecting.close()
    }
  })
})
