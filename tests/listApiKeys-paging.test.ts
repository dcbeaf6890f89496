import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  // Hundreds of keys in one account: neither cap nor the mint rate is under test here.
  server = await startTestServer({ MAX_LIVE_KEYS_PER_ACCOUNT: '0', MAX_STORED_KEYS_PER_ACCOUNT: '0', CREATE_KEY_LIMIT_PER_MINUTE: '0' })
})
afterAll(() => server.close())

type Page = Awaited<ReturnType<ReturnType<TestServer['client']>['listApiKeys']>>['data']

/** An account with `count` keys (the owner included), minted a few per millisecond so that both createdAt and id order them. */
async function accountWithKeys(count: number) {
  const did = server.newDid()
  const owner = await server.createKey(did, { name: 'key 0' })
  for (let i = 1; i < count; i++) {
    if (i % 3 === 0) server.clock.advance(1)
    await server.createKey(did, { name: `key ${i}` })
  }
  return { did, owner, client: server.client(bearer(owner.secret)) }
}

/** Status and error name of a listApiKeys call sent as raw query parameters. */
async function listRaw(secret: string, query: string) {
  const res = await server.get(`/xrpc/dev.cocore.account.listApiKeys?${query}`, bearer(secret))
  return { status: res.status, body: (await res.json()) as { error?: string; keys?: unknown[] } }
}

describe('listApiKeys pages', () => {
  it('pages through 250 keys 100 at a time, each key exactly once, newest first, while keys are created', async () => {
    const { client } = await accountWithKeys(250)
    const before = (await client.listApiKeys()).data.keys.map((key) => key.id)
    expect(before).toHaveLength(250)

    // Keys minted while the pages are read: each is newer than every key listed so far.
    let paging = true
    const mintedDuring: string[] = []
    const minting = (async () => {
      for (let i = 0; paging && i < 40; i++) mintedDuring.push((await client.createApiKey({ name: `during ${i}` })).data.key.id)
    })()
    const pages: Page[] = []
    let cursor: string | undefined
    do {
      const { data } = await client.listApiKeys({ limit: 100, ...(cursor && { cursor }) })
      pages.push(data)
      cursor = data.cursor
    } while (cursor)
    paging = false
    await minting

    const listed = pages.flatMap((page) => page.keys.map((key) => key.id))
    expect(new Set(listed).size).toBe(listed.length)
    expect(listed.filter((id) => before.includes(id))).toEqual(before)
    // A key minted during the paging is listed on the first page or not at all.
    const onLaterPages = pages.slice(1).flatMap((page) => page.keys.map((key) => key.id))
    expect(onLaterPages.filter((id) => mintedDuring.includes(id))).toEqual([])
    expect(listed.filter((id) => !before.includes(id)).every((id) => mintedDuring.includes(id))).toBe(true)
    expect(pages).toHaveLength(3)
    expect(pages.map((page) => page.cursor === undefined)).toEqual([false, false, true])
    expect(mintedDuring.length).toBeGreaterThan(0)
  })

  it('reads the same order as the whole list, page by page', async () => {
    const { client } = await accountWithKeys(7)
    const whole = (await client.listApiKeys()).data.keys.map((key) => key.name)

    const first = (await client.listApiKeys({ limit: 3 })).data
    const second = (await client.listApiKeys({ limit: 3, cursor: first.cursor })).data
    const third = (await client.listApiKeys({ limit: 3, cursor: second.cursor })).data

    expect([first, second, third].flatMap((page) => page.keys.map((key) => key.name))).toEqual(whole)
    expect(third.keys).toHaveLength(1)
    expect(third.cursor).toBeUndefined()
  })

  it('gives no cursor when the page holds every remaining key exactly', async () => {
    const { client } = await accountWithKeys(3)
    const { data } = await client.listApiKeys({ limit: 3 })
    expect(data.keys).toHaveLength(3)
    expect(data.cursor).toBeUndefined()
  })

  it('returns every key and no cursor without a limit, as before paging existed', async () => {
    const { client } = await accountWithKeys(120)
    const { data } = await client.listApiKeys()
    expect(data.keys).toHaveLength(120)
    expect(data).not.toHaveProperty('cursor')
  })

  it('pages only the caller’s own keys, whoever’s cursor it is given', async () => {
    const mine = await accountWithKeys(3)
    const theirs = await accountWithKeys(3)
    const theirCursor = (await theirs.client.listApiKeys({ limit: 1 })).data.cursor
    expect(theirCursor).toBeDefined()

    const { data } = await mine.client.listApiKeys({ limit: 10, cursor: theirCursor })

    expect(data.keys.every((key) => key.did === mine.did)).toBe(true)
  })

  it.each([
    ['a limit of 0', 'limit=0'],
    ['a limit over 100', 'limit=101'],
    ['a limit that is not a number', 'limit=ten'],
    ['a cursor that is not base64url', 'limit=10&cursor=%25%25%25'],
    ['a cursor of random text', `limit=10&cursor=${Buffer.from('hello').toString('base64url')}`],
    ['a cursor without an id', `limit=10&cursor=${Buffer.from('1700000000000:').toString('base64url')}`],
    ['a cursor whose id is no UUID', `limit=10&cursor=${Buffer.from('1700000000000:zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz').toString('base64url')}`],
    ['a cursor whose time is no number', `limit=10&cursor=${Buffer.from('soon:0190a6f2-7b3c-7def-8abc-0123456789ab').toString('base64url')}`],
    ['a cursor of JSON', `limit=10&cursor=${Buffer.from('{"createdAt":1,"id":"x"}').toString('base64url')}`],
    ['a cursor over 200 characters', `limit=10&cursor=${'a'.repeat(201)}`],
    ['a cursor without a limit', `cursor=${Buffer.from("'; drop table api_key; --").toString('base64url')}`],
  ])('refuses %s with 400 InvalidRequest', async (_case, query) => {
    const { owner } = await accountWithKeys(1)
    expect(await listRaw(owner.secret, query)).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } })
  })

  it('accepts a cursor of the right shape that names no key: the keys older than it', async () => {
    const { owner } = await accountWithKeys(2)
    const future = Buffer.from(`${Date.now() + 86_400_000}:ffffffff-ffff-7fff-bfff-ffffffffffff`).toString('base64url')
    const past = Buffer.from('0:00000000-0000-7000-8000-000000000000').toString('base64url')

    expect((await listRaw(owner.secret, `limit=10&cursor=${future}`)).body.keys).toHaveLength(2)
    expect((await listRaw(owner.secret, `limit=10&cursor=${past}`)).body.keys).toHaveLength(0)
  })
})
