import { apiKeySecretPrefix, displayPrefixLength, hashSecret } from '../../src/auth/credentials.js'

/**
 * Every form in which a secret could slip out: itself; for a key, the part after the prefix
 * it shows; and its SHA-256 as the database stores it, in hex, base64 and base64url.
 */
export function secretForms(secret: string): string[] {
  const hash = hashSecret(secret)
  const unshownPart = secret.startsWith(apiKeySecretPrefix) ? [secret.slice(displayPrefixLength)] : []
  return [secret, ...unshownPart, hash.toString('hex'), hash.toString('base64'), hash.toString('base64url')]
}
