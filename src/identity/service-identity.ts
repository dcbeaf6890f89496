import type { IdentityConfig } from '../config.js'
import { isLoopbackHost } from '../net/loopback.js'

/** The service entry PDSes proxy to: `atproto-proxy: <SERVICE_DID>#cocore_console`. */
export const serviceFragment = 'cocore_console'
const serviceType = 'CocoreConsole'

/**
 * How this service is known to the atproto network: its public URL and its DID. Unset,
 * PUBLIC_URL is derived from HOST and the port actually listened on (`PORT=0` included),
 * with `localhost` for a loopback host (a did:web resolves over plain http only there);
 * SERVICE_DID defaults to `did:web:` + that URL's host, a port percent-encoded.
 */
export class ServiceIdentity {
  publicUrl: string
  did: string

  constructor(
    private readonly cfg: IdentityConfig,
    private readonly host: string,
    port: number,
  ) {
    this.publicUrl = initialPublicUrl(cfg, host, port)
    this.did = cfg.serviceDid ?? didWebOf(this.publicUrl)
  }

  /** Once listening, a derived URL (and the DID derived from it) takes the real port. */
  bindPort(port: number): void {
    if (this.cfg.publicUrl !== undefined) return
    this.publicUrl = derivePublicUrl(this.host, port)
    if (this.cfg.serviceDid === undefined) this.did = didWebOf(this.publicUrl)
  }

  /** The audiences a service-auth token may name: the bare DID, or the DID of our service entry. */
  get audiences(): string[] {
    return [this.did, `${this.did}#${serviceFragment}`]
  }

  /** Our did:web document, or undefined when SERVICE_DID is not a did:web of our own host. */
  didDocument(): object | undefined {
    if (this.did !== didWebOf(this.publicUrl)) return undefined
    return {
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: this.did,
      service: [{ id: `#${serviceFragment}`, type: serviceType, serviceEndpoint: this.publicUrl }],
    }
  }
}

/** The public URL before listening: PUBLIC_URL, or the one derived from HOST and the configured port. */
export function initialPublicUrl(cfg: IdentityConfig, host: string, port: number): string {
  return cfg.publicUrl ?? derivePublicUrl(host, port)
}

function derivePublicUrl(host: string, port: number): string {
  if (isLoopbackHost(host)) return `http://localhost:${port}`
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

function didWebOf(publicUrl: string): string {
  return `did:web:${encodeURIComponent(new URL(publicUrl).host)}`
}
