import { createHash } from 'node:crypto'
import {
  buildAtprotoLoopbackClientMetadata,
  JoseKey,
  type OAuthClientMetadataInput,
} from '@atproto/oauth-client-node'
import { signInScope } from './sign-in-mode.js'

/**
 * The confidential client's metadata, served at its own client id: an authorization server
 * fetches it from there, and the public keys from `jwks_uri`.
 * https://atproto.com/specs/oauth#clients
 */
export function confidentialClientMetadata(publicUrl: string): OAuthClientMetadataInput {
  return {
    client_id: `${publicUrl}/oauth/client-metadata.json`,
    client_name: 'cocore account console',
    client_uri: publicUrl,
    redirect_uris: [`${publicUrl}/oauth/callback`],
    scope: signInScope,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'web',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    dpop_bound_access_tokens: true,
    jwks_uri: `${publicUrl}/oauth/jwks.json`,
  } as OAuthClientMetadataInput
}

/**
 * The loopback development client: its id (`http://localhost?redirect_uri=…&scope=atproto`)
 * is its metadata. RFC 8252 wants the redirect on the loopback IP, not on `localhost`.
 */
export function loopbackClientMetadata(port: number): OAuthClientMetadataInput {
  return buildAtprotoLoopbackClientMetadata({
    scope: signInScope,
    redirect_uris: [`http://127.0.0.1:${port}/oauth/callback`],
  })
}

/**
 * The client's signing key. The library needs a `kid` on it; a JWK without one gets its
 * RFC 7638 thumbprint, which stays the same for the same key across restarts.
 */
export function clientSigningKey(jwk: Record<string, unknown>): Promise<JoseKey> {
  const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : thumbprint(jwk)
  return JoseKey.fromJWK({ ...jwk, kid, alg: 'ES256', use: 'sig' })
}

function thumbprint(jwk: Record<string, unknown>): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return createHash('sha256').update(canonical).digest('base64url')
}
