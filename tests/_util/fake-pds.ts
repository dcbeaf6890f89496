import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cidForLex } from '@atproto/lex-cbor'

/**
 * The three XRPC calls `lexicons publish` makes, served from memory: createSession for one
 * account, getRecord and putRecord on its repo. (The end-to-end suite against a real PDS is
 * @atproto/dev-env's; this one keeps the CLI's own behaviour fast to test.)
 */
export async function startFakePds(account: { did: string; handle: string; password: string }, opts: { redirectTo?: string } = {}) {
  const records = new Map<string, { value: unknown; cid: string }>()
  let writes = 0
  /** Every request as it arrived: path, Authorization and body. */
  const received: { path: string; authorization: string | undefined; body: string }[] = []
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://pds')
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    let raw = ''
    for await (const chunk of req) raw += chunk
    received.push({ path: url.pathname, authorization: req.headers.authorization, body: raw })
    // A PDS that moved (or a man in the middle): 307 keeps the method and the body.
    if (opts.redirectTo) {
      res.writeHead(307, { location: `${opts.redirectTo}${req.url ?? '/'}` })
      return res.end()
    }
    const body = raw ? JSON.parse(raw) : {}
    const authorized = req.headers.authorization === 'Bearer access-token'
    switch (url.pathname) {
      case '/xrpc/com.atproto.server.createSession':
        if ((body.identifier === account.handle || body.identifier === account.did) && body.password === account.password) {
          return send(200, { did: account.did, handle: account.handle, accessJwt: 'access-token', refreshJwt: 'refresh' })
        }
        return send(401, { error: 'AuthenticationRequired', message: 'Invalid identifier or password' })
      case '/xrpc/com.atproto.repo.getRecord': {
        const key = `${url.searchParams.get('collection')}/${url.searchParams.get('rkey')}`
        const found = url.searchParams.get('repo') === account.did ? records.get(key) : undefined
        if (!found) return send(400, { error: 'RecordNotFound', message: `Could not locate record: ${key}` })
        return send(200, { uri: `at://${account.did}/${key}`, cid: found.cid, value: found.value })
      }
      case '/xrpc/com.atproto.repo.putRecord': {
        if (!authorized || body.repo !== account.did) return send(401, { error: 'AuthenticationRequired' })
        const cid = (await cidForLex(body.record)).toString()
        records.set(`${body.collection}/${body.rkey}`, { value: body.record, cid })
        writes++
        return send(200, { uri: `at://${account.did}/${body.collection}/${body.rkey}`, cid })
      }
      default:
        return send(501, { error: 'MethodNotImplemented' })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records,
    received,
    writes: () => writes,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}
