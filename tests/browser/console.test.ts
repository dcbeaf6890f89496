// The console in a real browser (Debian's chromium) against a real PDS and PLC
// (@atproto/dev-env): a person signs in with their atproto account on the PDS's own
// authorization pages, manages keys on our page and signs out. Offline; one network, one
// service and one browser for the whole file.
import { TestNetworkNoAppView } from '@atproto/dev-env'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seriousAccessibilityViolations } from './support/accessibility.js'
import { startAccountService, type AccountService } from './support/account-service.js'
import { freshContext, launchChromium } from './support/browser.js'
import { getSession } from './support/get-session.js'
import { approveOnPds } from './support/pds-authorization.js'
import { saveScreenshot } from './support/screenshots.js'

/** Set by the CI's second pass: a fresh Postgres database for every instance started here. */
const databaseUrl = process.env.DATABASE_URL || undefined
const alice = { handle: 'alice.test', email: 'alice@test.invalid', password: 'alice-pass' }
let aliceDid: string
let network: TestNetworkNoAppView
let service: AccountService
let browser: Browser

beforeAll(async () => {
  network = await TestNetworkNoAppView.create({})
  aliceDid = (await network.pds.getAgent().createAccount(alice)).data.did
  service = await startAccountService({ plcUrl: network.plc.url, databaseUrl })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await service?.close()
  await network?.close()
})

/** True once the browser is back on the console (`/`) of the instance at `serviceUrl`. */
const onConsoleOf = (serviceUrl: string) => (url: URL) => url.origin === new URL(serviceUrl).origin && url.pathname === '/'

/**
 * Our sign-in form, by DID (dev-env handles do not resolve through DNS), then the PDS's
 * pages, until the browser is back on our console.
 */
async function signIn(page: Page, serviceUrl: string, { rememberAccount = false } = {}) {
  await page.getByRole('textbox', { name: 'Handle, DID or PDS address' }).fill(aliceDid)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await approveOnPds(page, { password: alice.password, rememberAccount }, onConsoleOf(serviceUrl))
}

async function sessionCookieIn(context: BrowserContext, serviceUrl: string) {
  return (await context.cookies(serviceUrl)).find((cookie) => cookie.name === 'cocore_session')
}

/** Our CSP's refusals on our own pages (an inline script, a foreign style, a blocked form target). */
function cspRefusals(page: Page, serviceUrl: string): string[] {
  const refusals: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy') && page.url().startsWith(serviceUrl)) refusals.push(message.text())
  })
  return refusals
}

const keysTable = (page: Page) => page.getByRole('table', { name: 'Your API keys' })
/** The key's row: its name is the row's header cell (or a plain cell). */
const keyRow = (page: Page, name: string) =>
  keysTable(page)
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }).or(page.getByRole('cell', { name, exact: true })) })
const statusOf = (page: Page, name: string, status: 'Active' | 'Revoked' | 'Expired') => keyRow(page, name).getByRole('cell', { name: status, exact: true })
const newSecretBox = (page: Page) => page.getByRole('textbox', { name: 'New API key secret' })
/** A key's row by its id: a rolled key and the key that replaces it share a name. */
const rowOf = (page: Page, id: string) => page.locator(`#key-rows tr[data-key-id="${id}"]`)
const shownKeyIds = (page: Page) => page.locator('#key-rows tr[data-key-id]').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.keyId!))
/**
 * What has the keyboard. After a dialog closes, poll for it (expect.poll): the dialog hides
 * at once, but its `close` event, which moves the keyboard, comes in a later task.
 */
const focusedLabel = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id)

type KeyView = { id: string; name: string; prefix: string; expiresAt?: string; scopes?: string[]; replacedBy?: string }

/** An XRPC call from the page itself, with its session cookie, as the page's own script makes them. */
async function callFromPage<T>(page: Page, nsid: string, input?: object): Promise<T> {
  return page.evaluate(
    async ({ nsid, input }) => {
      const init: RequestInit = input === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input) }
      const res = await fetch(`/xrpc/${nsid}`, init)
      if (!res.ok) throw new Error(`${nsid}: ${res.status} ${await res.text()}`)
      return res.json()
    },
    { nsid, input },
  ) as Promise<T>
}

/** Every key of the signed-in account, newest first (listApiKeys without a limit). */
const everyKey = async (page: Page) => (await callFromPage<{ keys: KeyView[] }>(page, 'dev.cocore.account.listApiKeys')).keys
const keyNamed = async (page: Page, name: string) => (await everyKey(page)).find((key) => key.name === name)!

/** Creates a key on the page and returns the secret it shows once. */
async function createKey(page: Page, name: string, expires?: string) {
  await page.getByRole('textbox', { name: 'Key name' }).fill(name)
  if (expires) await page.getByLabel('Expires (optional)').fill(expires)
  await page.getByRole('button', { name: 'Create key' }).click()
  await statusOf(page, name, 'Active').waitFor()
  return newSecretBox(page).inputValue()
}

/** A datetime-local value (the viewer's wall-clock time) `days` from now. */
function daysFromNow(days: number) {
  const at = new Date(Date.now() + days * 86_400_000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`
}

/**
 * Sends every navigation to `from`'s /oauth/callback to the same path and query on `to`
 * instead, with the cookies the browser sends there (the sign-in nonce is scoped to that
 * path), and hands `to`'s answer (its cookies,
 * its redirect) back to the browser as if `from` had given it. Returns what `to` answered.
 * Through the DevTools protocol: the callback is the PDS's redirect, and Playwright's
 * page.route sees only the first request of a redirect chain.
 */
async function finishCallbacksOn(page: Page, from: string, to: string) {
  const answers: { status: number; location: string | null }[] = []
  const devtools = await page.context().newCDPSession(page)
  await devtools.send('Fetch.enable', { patterns: [{ urlPattern: `${from}/oauth/callback?*`, requestStage: 'Request' }] })
  devtools.on('Fetch.requestPaused', async ({ requestId, request }) => {
    const target = new URL(request.url)
    target.port = new URL(to).port
    const cookie = (await page.context().cookies(request.url)).map(({ name, value }) => `${name}=${value}`).join('; ')
    const answer = await fetch(target, { headers: { cookie }, redirect: 'manual' })
    answers.push({ status: answer.status, location: answer.headers.get('location') })
    const headers = [...answer.headers].filter(([name]) => name !== 'set-cookie').map(([name, value]) => ({ name, value }))
    for (const value of answer.headers.getSetCookie()) headers.push({ name: 'set-cookie', value })
    await devtools.send('Fetch.fulfillRequest', {
      requestId,
      responseCode: answer.status,
      responseHeaders: headers,
      body: Buffer.from(await answer.arrayBuffer()).toString('base64'),
    })
  })
  return answers
}

describe('the console', () => {
  /** Alice's signed-in page, from the first test, for the ones after it: one sign-in for them all. */
  let signedIn: { context: BrowserContext; page: Page; cookie: string; refusals: string[] } | undefined
  const signedInAlice = () => {
    if (signedIn === undefined) throw new Error('the first test did not sign in')
    return signedIn
  }

  it('signs in through the PDS, creates, revokes and deletes keys', async () => {
    const context = await freshContext(browser)
    const page = await context.newPage()
    const refusals = cspRefusals(page, service.url)

    await page.goto(`${service.url}/`)
    await page.getByRole('textbox', { name: 'Handle, DID or PDS address' }).waitFor()
    expect(await seriousAccessibilityViolations(page)).toEqual([])
    await saveScreenshot(page, 'console-signed-out')

    await signIn(page, service.url)
    await page.getByRole('heading', { name: 'Signed in' }).waitFor()
    // The handle and the DID: alice.test resolves through no DNS, but in loopback mode the
    // account's own PDS may confirm it.
    await page.getByText(aliceDid).waitFor()
    await page.getByText(alice.handle, { exact: true }).waitFor()
    const cookie = await sessionCookieIn(context, service.url)
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(await getSession(service.url, { sessionCookie: cookie!.value })).toMatchObject({
      status: 200,
      body: { did: aliceDid, handle: alice.handle, authType: 'session' },
    })

    // A new secret, shown once in a read-only field, works as a bearer key at once.
    const secret = await createKey(page, 'laptop')
    expect(secret).toMatch(/^cocore-/)
    expect(await newSecretBox(page).isEditable()).toBe(false)
    await page.getByText('This secret will not be shown again').waitFor()
    await page.getByRole('button', { name: 'Copy' }).waitFor()
    expect(await seriousAccessibilityViolations(page)).toEqual([])
    await saveScreenshot(page, 'console-new-secret')
    expect(await getSession(service.url, { bearer: secret })).toMatchObject({ status: 200, body: { did: aliceDid, authType: 'apiKey' } })

    // Revoked on the page: refused at once.
    await page.getByRole('button', { name: 'Revoke laptop' }).click()
    await statusOf(page, 'laptop', 'Revoked').waitFor()
    expect((await getSession(service.url, { bearer: secret })).status).toBe(401)
    expect(await page.getByRole('button', { name: 'Revoke laptop' }).count()).toBe(0)

    // Deleted after a confirmation: gone from the list, and its secret refused.
    const doomed = await createKey(page, 'build server')
    await page.getByRole('button', { name: 'Delete build server' }).click()
    const confirmation = page.getByRole('dialog')
    await confirmation.getByText('Delete key build server?').waitFor()
    await confirmation.getByRole('button', { name: 'Delete', exact: true }).click()
    await keyRow(page, 'build server').waitFor({ state: 'detached' })
    expect((await getSession(service.url, { bearer: doomed })).status).toBe(401)

    // The list as it reads later: the secret is not shown again.
    await createKey(page, 'deploy', daysFromNow(30))
    await page.reload()
    await statusOf(page, 'deploy', 'Active').waitFor()
    await statusOf(page, 'laptop', 'Revoked').waitFor()
    expect(await newSecretBox(page).count()).toBe(0)
    expect(await seriousAccessibilityViolations(page)).toEqual([])
    signedIn = { context, page, cookie: cookie!.value, refusals }
  })

  it('creates a key with fewer scopes, and asks for one when none is ticked', async () => {
    const { page } = signedInAlice()
    const scopeBox = (scope: string) => page.getByRole('checkbox', { name: scope })
    for (const scope of ['account:read', 'account:write', 'inference', 'records']) expect(await scopeBox(scope).isChecked()).toBe(true)

    // Nothing ticked: a sentence, and no call.
    const before = (await everyKey(page)).length
    await page.getByRole('textbox', { name: 'Key name' }).fill('nothing allowed')
    for (const scope of ['account:read', 'account:write', 'inference', 'records']) await scopeBox(scope).uncheck()
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.getByRole('alert').getByText('Tick at least one scope').waitFor()
    expect(await focusedLabel(page)).toBe('scope-account-read')
    expect(await everyKey(page)).toHaveLength(before)

    await scopeBox('account:read').check()
    await scopeBox('inference').check()
    const secret = await createKey(page, 'metrics reader')
    await keyRow(page, 'metrics reader').getByRole('cell', { name: 'account:read, inference', exact: true }).waitFor()
    expect(await getSession(service.url, { bearer: secret })).toMatchObject({ status: 200, body: { authType: 'apiKey', scopes: ['account:read', 'inference'] } })
    // The form is back to every scope; a key made with all of them holds every scope ("All").
    expect(await scopeBox('records').isChecked()).toBe(true)
    await keyRow(page, 'deploy').getByRole('cell', { name: 'All', exact: true }).waitFor()
  })

  it('renames a key in a dialog: Escape cancels, Enter saves, a bad name is a sentence', async () => {
    const { page } = signedInAlice()
    const dialog = page.getByRole('dialog', { name: 'Rename key metrics reader' })
    const newName = dialog.getByRole('textbox', { name: 'New name' })

    await page.getByRole('button', { name: 'Rename metrics reader' }).click()
    expect(await newName.inputValue()).toBe('metrics reader')
    expect(await seriousAccessibilityViolations(page)).toEqual([])
    await newName.fill('never saved')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    await expect.poll(() => focusedLabel(page)).toBe('Rename metrics reader')
    expect((await keyNamed(page, 'metrics reader')).name).toBe('metrics reader')

    await page.keyboard.press('Enter')
    await newName.fill('   ')
    await newName.press('Enter')
    await dialog.getByRole('alert').getByText('Give the key a name.').waitFor()
    await newName.fill('grafana')
    await newName.press('Enter')
    await dialog.waitFor({ state: 'hidden' })
    await keyRow(page, 'grafana').waitFor()
    await expect.poll(() => focusedLabel(page)).toBe('Rename grafana')
    expect(await keyRow(page, 'metrics reader').count()).toBe(0)
    expect((await everyKey(page)).filter((key) => key.name === 'grafana')).toHaveLength(1)
  })

  it('rolls a key: with "Now" the old secret stops at once, with a grace period both work', async () => {
    const { page } = signedInAlice()
    const rollDialog = page.getByRole('dialog', { name: /^Roll key/ })

    // "Now": the new secret shown once, as create shows it; the old one refused.
    const oldSecret = await createKey(page, 'ci runner')
    const old = await keyNamed(page, 'ci runner')
    await page.getByRole('button', { name: 'Roll ci runner' }).click()
    await rollDialog.getByRole('radio', { name: 'Now' }).waitFor()
    expect(await rollDialog.getByRole('radio', { name: 'Now' }).isChecked()).toBe(true)
    expect(await seriousAccessibilityViolations(page)).toEqual([])
    await rollDialog.getByRole('button', { name: 'Roll key' }).click()
    await rollDialog.waitFor({ state: 'hidden' })
    await page.getByText('This secret will not be shown again').waitFor()
    await page.getByText(`It replaces the key ${old.prefix}…, which has stopped working.`).waitFor()
    const newSecret = await newSecretBox(page).inputValue()
    expect(newSecret).toMatch(/^cocore-/)
    expect(newSecret).not.toBe(oldSecret)
    expect((await getSession(service.url, { bearer: oldSecret })).status).toBe(401)
    expect((await getSession(service.url, { bearer: newSecret })).status).toBe(200)
    await rowOf(page, old.id).getByRole('cell', { name: 'Expired', exact: true }).waitFor()
    expect(await rowOf(page, old.id).getByRole('button', { name: 'Roll ci runner' }).count()).toBe(0)

    // "In 1 hour": both work; the old one is listed as Replaced, with its new expiry.
    const deploy = await keyNamed(page, 'deploy')
    await page.getByRole('button', { name: 'Roll deploy' }).click()
    await rollDialog.getByRole('radio', { name: 'In 1 hour' }).check()
    await rollDialog.getByRole('radio', { name: 'In 1 hour' }).press('Enter')
    await rollDialog.waitFor({ state: 'hidden' })
    await page.getByText(`It replaces the key ${deploy.prefix}…, which keeps working until`).waitFor()
    const rolled = await newSecretBox(page).inputValue()
    expect((await getSession(service.url, { bearer: rolled })).status).toBe(200)
    await rowOf(page, deploy.id).getByRole('cell', { name: 'Replaced', exact: true }).waitFor()
    const previous = (await everyKey(page)).find((key) => key.id === deploy.id)!
    expect(Date.parse(previous.expiresAt!) - Date.now()).toBeGreaterThan(3_500_000)
    expect(Date.parse(previous.expiresAt!) - Date.now()).toBeLessThanOrEqual(3_600_000)
    expect(await rowOf(page, deploy.id).locator('time').last().getAttribute('datetime')).toBe(previous.expiresAt)

    // The list as it reads later: the secret is not shown again.
    await page.reload()
    await rowOf(page, deploy.id).getByRole('cell', { name: 'Replaced', exact: true }).waitFor()
    expect(await newSecretBox(page).count()).toBe(0)
    await saveScreenshot(page, 'console-keys')
    await page.getByRole('button', { name: 'Roll grafana' }).click()
    await rollDialog.getByRole('radio', { name: 'Now' }).waitFor()
    await saveScreenshot(page, 'console-roll', { fullPage: false })
    await page.keyboard.press('Escape')
    await rollDialog.waitFor({ state: 'hidden' })
    await expect.poll(() => focusedLabel(page)).toBe('Roll grafana')
  })

  it('pages through more than 50 keys with Show more, each key once, while keys are created', async () => {
    const { page } = signedInAlice()
    await Promise.all(Array.from({ length: 60 }, (_, i) => callFromPage(page, 'dev.cocore.account.createApiKey', { name: `batch ${i}` })))
    const listed = (await everyKey(page)).map((key) => key.id)
    expect(listed.length).toBeGreaterThan(60)

    await page.reload()
    const showMore = page.getByRole('button', { name: 'Show more' })
    await showMore.waitFor()
    expect(await shownKeyIds(page)).toEqual(listed.slice(0, 50))
    // A key created between two pages belongs before the first: the next page is unchanged.
    await callFromPage(page, 'dev.cocore.account.createApiKey', { name: 'created meanwhile' })
    await showMore.click()
    await showMore.waitFor({ state: 'hidden' })
    await page.getByRole('status').getByText(`Showing all ${listed.length} keys.`).waitFor()
    expect(await shownKeyIds(page)).toEqual(listed)
    expect(await focusedLabel(page)).toBe('keys-table')
  })

  it('signs out: the old cookie is refused and the sign-in form is back', async () => {
    const { context, page, cookie, refusals } = signedInAlice()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('textbox', { name: 'Handle, DID or PDS address' }).waitFor()
    expect((await getSession(service.url, { sessionCookie: cookie })).status).toBe(401)
    expect(await sessionCookieIn(context, service.url)).toBeUndefined()

    expect(refusals).toEqual([])
    await context.close()
  })

  it('a second sign-in in the same browser ends the first session', async () => {
    const context = await freshContext(browser)
    // Two tabs opened while signed out; the second signs in again after the first has.
    const first = await context.newPage()
    await first.goto(`${service.url}/`)
    const second = await context.newPage()
    await second.goto(`${service.url}/`)

    // Remembered by the PDS, so the second sign-in goes straight to its consent step.
    await signIn(first, service.url, { rememberAccount: true })
    const firstCookie = (await sessionCookieIn(context, service.url))!.value
    expect((await getSession(service.url, { sessionCookie: firstCookie })).status).toBe(200)

    await signIn(second, service.url)
    await second.getByText(aliceDid).waitFor()
    const secondCookie = (await sessionCookieIn(context, service.url))!.value
    expect(secondCookie).not.toBe(firstCookie)
    expect((await getSession(service.url, { sessionCookie: firstCookie })).status).toBe(401)
    expect((await getSession(service.url, { sessionCookie: secondCookie })).status).toBe(200)
    await context.close()
  })

  // Two instances share OAuth state only through Postgres: the embedded database is one
  // process's own data directory (it refuses a second process), so there is no "other
  // instance" to finish on.
  it.skipIf(databaseUrl === undefined)('a flow begun on one instance completes on another (Postgres)', async () => {
    // B answers for the same PUBLIC_URL as A, on another port, as behind a load balancer.
    const instanceB = await startAccountService({ plcUrl: network.plc.url, databaseUrl, publicUrl: service.url })
    try {
      const context = await freshContext(browser)
      const page = await context.newPage()
      // The PDS sends the browser back to A's callback; B finishes it, with the nonce A set.
      const finishedOnB = await finishCallbacksOn(page, service.url, instanceB.url)
      await page.goto(`${service.url}/`)
      await signIn(page, service.url)
      expect(finishedOnB).toEqual([{ status: 303, location: '/' }])

      const cookie = (await sessionCookieIn(context, service.url))!.value
      for (const instance of [service.url, instanceB.url]) {
        expect(await getSession(instance, { sessionCookie: cookie })).toMatchObject({ status: 200, body: { did: aliceDid } })
      }
      await page.getByText(aliceDid).waitFor()
      await context.close()
    } finally {
      await instanceB.close()
    }
  })
})
