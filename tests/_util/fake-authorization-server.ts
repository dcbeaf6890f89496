import http from 'node:http'
import type { AddressInfo } from 'node:net'

const base32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * A PDS that is its own atproto OAuth authorization server, and the PLC directory of its
 * accounts, in one loopback server: the metadata documents, PAR, the token endpoint and
 * revocation, enough for the OAuth client to run a flow end to end. There is no login
 * page: `approve(state)` plays the person who approved, and returns the callback's query.
 * (The real thing, in a browser, is the browser test's; this keeps the server's side of the
 * flow fast to test.)
 *
 * With `handle`, the account's DID document claims it, and the PDS's
 * `com.atproto.identity.resolveHandle` answers it with the account's DID, or with
 * `handleResolvesTo` when given (a PDS that names another account).
 */
export async function startFakeAuthorizationServer(opts: { handle?: string; handleResolvesTo?: string } = {}) {
  const did = `did:plc:${Array.from({ length: 24 }, () => base32[Math.floor(Math.random() * 32)]).join('')}`
  /** The authorization requests pushed (PAR), by request_uri. */
  const pushed = new Map<string, URLSearchParams>()
  const codes = new Map<string, URLSearchParams>()
  const revoked: string[] = []
  let tokensIssued = 0
  let origin = ''

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', origin)
    let raw = ''
    for await (const chunk of req) raw += chunk
    const form = new URLSearchParams(raw)
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    switch (decodeURIComponent(url.pathname)) {
      case '/.well-known/oauth-protected-resource':
        return send(200, { resource: origin, authorization_servers: [origin] })
      case '/.well-known/oauth-authorization-server':
        return send(200, {
          issuer: origin,
          authorization_endpoint: `${origin}/oauth/authorize`,
          token_endpoint: `${origin}/oauth/token`,
          revocation_endpoint: `${origin}/oauth/revoke`,
          pushed_authorization_request_endpoint: `${origin}/oauth/par`,
          require_pushed_authorization_requests: true,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
          token_endpoint_auth_signing_alg_values_supported: ['ES256'],
          scopes_supported: ['atproto'],
          dpop_signing_alg_values_supported: ['ES256'],
          authorization_response_iss_parameter_supported: true,
          client_id_metadata_document_supported: true,
        })
      case '/oauth/par': {
        const requestUri = `urn:ietf:params:oauth:request_uri:req-${pushed.size}`
        pushed.set(requestUri, form)
        return send(201, { request_uri: requestUri, expires_in: 300 })
      }
      case '/oauth/token': {
        const request = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        if (!request || form.get('grant_type') !== 'authorization_code') return send(400, { error: 'invalid_grant' })
        tokensIssued++
        return send(200, { access_token: `access-${tokensIssued}`, token_type: 'DPoP', sub: did, scope: 'atproto', expires_in: 3600 })
      }
      case '/xrpc/com.atproto.identity.resolveHandle':
        if (!opts.handle || url.searchParams.get('handle') !== opts.handle) return send(400, { error: 'InvalidRequest', message: 'Unable to resolve handle' })
        return send(200, { did: opts.handleResolvesTo ?? did })
      case '/oauth/revoke':
        revoked.push(form.get('token') ?? '')
        return send(200, {})
      case `/${did}`:
        // The PLC directory's answer for our one account: its PDS is this server.
        return send(200, {
          '@context': ['https://www.w3.org/ns/did/v1'],
          id: did,
          alsoKnownAs: opts.handle ? [`at://${opts.handle}`] : [],
          service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: origin }],
        })
      default:
        return send(404, { error: 'not_found' })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    /** The PDS, the issuer and the PLC directory: one origin. */
    url: origin,
    did,
    /** The pushed authorization request behind an authorization URL our server redirected to. */
    pushedRequest(authorizationUrl: string): URLSearchParams | undefined {
      return pushed.get(new URL(authorizationUrl).searchParams.get('request_uri') ?? '')
    },
    /** The person approved: the query our callback receives (code, state, iss). */
    approve(authorizationUrl: string): URLSearchParams {
      const request = pushed.get(new URL(authorizationUrl).searchParams.get('request_uri') ?? '')
      if (!request) throw new Error('no such authorization request')
      const code = `code-${codes.size}-${Math.random().toString(36).slice(2)}`
      codes.set(code, request)
      return new URLSearchParams({ state: request.get('state') ?? '', iss: origin, code })
    },
    /** The tokens our server revoked. */
    revoked,
    tokensIssued: () => tokensIssued,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
