import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleContentSecurityPolicy } from '../src/http/console.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

// The console's page and assets as the server sends them (built by `npm run build`, which
// `npm test` runs first). What the page does in a browser is the browser test's.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

/** The directives of a Content-Security-Policy header, by name. */
function directives(policy: string | null): Map<string, string[]> {
  const parsed = new Map<string, string[]>()
  for (const directive of (policy ?? '').split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/)
    if (name) parsed.set(name, sources)
  }
  return parsed
}

/** Every src= and href= of the page. */
const references = (html: string) => [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]!)

/** The relative module imports of a compiled script (`from './keys.js'`). */
const moduleImports = (script: string) => [...script.matchAll(/\bfrom\s+'(\.[^']+)'/g)].map((match) => match[1]!)

describe('GET /', () => {
  it('serves the console page as HTML that is never cached', async () => {
    const res = await server.get('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(await res.text()).toMatch(/^<!doctype html>/i)
  })

  it('allows only our own script, style, images and calls, nothing inline, and no framing', async () => {
    const policy = (await server.get('/')).headers.get('content-security-policy')
    expect(policy).not.toContain('unsafe-inline')
    expect(policy).not.toContain('unsafe-eval')
    expect(Object.fromEntries(directives(policy))).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'"],
      'connect-src': ["'self'"],
      // The test server's PUBLIC_URL is loopback: a development PDS may be plain http.
      'form-action': ["'self'", 'https:', 'http:'],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    })
  })

  it('lets the sign-in form be redirected to any https server, and to plain http only when we run on loopback', () => {
    expect(directives(consoleContentSecurityPolicy('https://account.cocore.dev')).get('form-action')).toEqual(["'self'", 'https:'])
    expect(directives(consoleContentSecurityPolicy('http://account.internal:3000')).get('form-action')).toEqual(["'self'", 'https:'])
    expect(directives(consoleContentSecurityPolicy('http://127.0.0.1:3000')).get('form-action')).toEqual(["'self'", 'https:', 'http:'])
    expect(directives(consoleContentSecurityPolicy('http://[::1]:3000')).get('form-action')).toEqual(["'self'", 'https:', 'http:'])
  })

  it('keeps the policy that allows nothing on every other response', async () => {
    const res = await server.get('/xrpc/_health')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
  })

  it('has no inline script, style or event handler (the policy would block them)', async () => {
    const html = await (await server.get('/')).text()
    expect(html).not.toMatch(/<style/i)
    expect(html).not.toMatch(/\sstyle=/i)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    for (const script of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(script[1]).toMatch(/\ssrc="/)
      expect(script[2]!.trim()).toBe('')
    }
  })

  it('has the forms and the names the browser test and assistive technology rely on', async () => {
    const html = await (await server.get('/')).text()
    expect(html).toMatch(/<form method="post" action="\/oauth\/login"/)
    expect(html).toMatch(/<label for="handle">Handle, DID or PDS address<\/label>/)
    expect(html).toMatch(/<input id="handle" name="handle"/)
    expect(html).toMatch(/<form method="post" action="\/oauth\/logout">/)
    for (const text of ['>Sign in</button>', '>Sign out</button>', '>Key name</label>', '>Expires (optional)</label>', '>Create key</button>']) {
      expect(html).toContain(text)
    }
    expect(html).toContain('<caption>Your API keys</caption>')
    expect(html).toContain('>New API key secret</label>')
    expect(html).toContain('This secret will not be shown again')
    expect(html).toMatch(/<div id="alert" class="alert" role="alert">/)
  })

  it('offers the four scopes on create, all ticked (no scopes sent: the caller’s own, as before)', async () => {
    const html = await (await server.get('/')).text()
    expect(html).toContain('<legend>Scopes</legend>')
    for (const scope of ['account:read', 'account:write', 'inference', 'records']) {
      const id = `scope-${scope.replace(':', '-')}`
      expect(html).toContain(`<input id="${id}" name="scope" type="checkbox" value="${scope}" checked aria-describedby="${id}-hint">`)
      expect(html).toContain(`<label for="${id}"><code>${scope}</code></label>`)
      expect(html).toMatch(new RegExp(`<span id="${id}-hint" class="hint">[A-Z][^<]+\\.</span>`))
    }
  })

  it('has the Rename and Roll dialogs, with labelled controls, and the grace periods rollApiKey takes', async () => {
    const html = await (await server.get('/')).text()
    expect(html).toMatch(/<dialog id="rename-dialog" aria-labelledby="rename-heading">/)
    expect(html).toContain('<label for="rename-name">New name</label>')
    expect(html).toMatch(/<dialog id="roll-dialog" aria-labelledby="roll-heading" aria-describedby="roll-explanation">/)
    expect(html).toContain('<legend>The old key stops working</legend>')
    const grace = [...html.matchAll(/<input id="(grace-\w+)" name="grace" type="radio" value="(\d+)"[^>]*><label for="\1">([^<]+)<\/label>/g)]
    expect(grace.map((choice) => [choice[3], Number(choice[2])])).toEqual([
      ['Now', 0],
      ['In 1 hour', 3_600],
      ['In 1 day', 86_400],
      ['In 7 days', 604_800],
    ])
    expect(html).toContain('<th scope="col">Scopes</th>')
    expect(html).toContain('>Show more</button>')
  })
})

describe('the console assets', () => {
  it('are referenced by the page on our own origin only', async () => {
    const refs = references(await (await server.get('/')).text())
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) expect(ref).toMatch(/^\/console\/[\w.-]+$/)
  })

  it('are all served, with their content types, as are the modules the page script imports', async () => {
    const types: Record<string, RegExp> = {
      js: /^application\/javascript; charset=UTF-8$/,
      css: /^text\/css; charset=UTF-8$/,
      svg: /^image\/svg\+xml$/,
    }
    const pending = references(await (await server.get('/')).text())
    const seen = new Set<string>()
    while (pending.length > 0) {
      const pathname = pending.pop()!
      if (seen.has(pathname)) continue
      seen.add(pathname)
      const res = await server.get(pathname)
      expect(res.status, pathname).toBe(200)
      expect(res.headers.get('content-type'), pathname).toMatch(types[pathname.split('.').pop()!]!)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('no-cache')
      if (pathname.endsWith('.js')) {
        for (const imported of moduleImports(await res.text())) pending.push(new URL(imported, `http://x${pathname}`).pathname)
      } else {
        await res.arrayBuffer()
      }
    }
    expect([...seen].filter((pathname) => pathname.endsWith('.js')).length).toBeGreaterThan(1)
  })

  it('answers a missing asset with the JSON 404, not a 500', async () => {
    const res = await server.get('/console/missing.js')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'NotFound', message: 'Not found' })
  })

  it('serves nothing outside the console folder', async () => {
    for (const pathname of ['/console/..%2Fsrc%2Fcli%2Fbin.js', '/console/%2e%2e/console/main.js', '/console/tsconfig.json', '/console/main.ts']) {
      const { status, body } = await rawGet(server.port, pathname)
      expect(status, pathname).toBe(404)
      expect(JSON.parse(body), pathname).toEqual({ error: 'NotFound', message: 'Not found' })
    }
  })
})

/** A GET with the path exactly as given (fetch would normalise the dot segments away). */
function rawGet(port: number, pathname: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}
