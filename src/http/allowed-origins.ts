import { ConfigError, type Config } from '../config.js'
import { initialPublicUrl } from '../identity/service-identity.js'
import { isLoopbackHost } from '../net/loopback.js'
import { isSameSite } from './same-site.js'

/**
 * The origins whose pages may use the session cookie for an unsafe request: our own (the
 * public URL's, and in loopback mode both loopback names on its port) and CONSOLE_ORIGINS.
 * The sets are built once; our own is rebuilt only if the public URL changes, which it
 * does once, when a derived URL takes the port actually listened on.
 */
export class AllowedOrigins {
  private readonly consoleOrigins: ReadonlySet<string>
  private allowed: { publicUrl: string; origins: ReadonlySet<string> } | undefined

  constructor(
    consoleOrigins: string[],
    private readonly identity: { readonly publicUrl: string },
  ) {
    this.consoleOrigins = new Set(consoleOrigins)
  }

  get hasConsoleOrigins(): boolean {
    return this.consoleOrigins.size > 0
  }

  /** Whether `origin` (an Origin header, exactly as sent) is one of CONSOLE_ORIGINS. */
  isConsoleOrigin(origin: string): boolean {
    return this.consoleOrigins.has(origin)
  }

  /** Whether `origin` (an Origin header, exactly as sent; `null` never is) is ours or a console's. */
  isAllowed(origin: string): boolean {
    const publicUrl = this.identity.publicUrl
    if (this.allowed?.publicUrl !== publicUrl) {
      this.allowed = { publicUrl, origins: new Set([...ownOrigins(publicUrl), ...this.consoleOrigins]) }
    }
    return this.allowed.origins.has(origin)
  }
}

/**
 * Our own origins. In loopback mode (a loopback public URL) the sign-in's callback and its
 * cookie live on `127.0.0.1` (RFC 8252 wants the loopback client's redirect there), while
 * the public URL may say `localhost`: both are ours.
 */
export function ownOrigins(publicUrl: string): string[] {
  const url = new URL(publicUrl)
  if (!isLoopbackHost(url.hostname)) return [url.origin]
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return [...new Set([url.origin, `http://127.0.0.1:${port}`, `http://localhost:${port}`])]
}

/**
 * Refuses (ConfigError: the CLI exits 2) a console origin that is not same-site with one of
 * our own origins: the session cookie is `SameSite=Lax`, so a browser never sends it on a
 * cross-site fetch and such a console could never work. Called before anything is opened;
 * the port does not matter to a site, so a public URL still to be derived (PORT=0) will do.
 */
export function checkConsoleOrigins(cfg: Pick<Config, 'consoleOrigins' | 'identity' | 'host' | 'port'>): void {
  const publicUrl = initialPublicUrl(cfg.identity, cfg.host, cfg.port)
  const ours = ownOrigins(publicUrl).map((origin) => new URL(origin))
  for (const consoleOrigin of cfg.consoleOrigins) {
    if (ours.some((own) => isSameSite(new URL(consoleOrigin), own))) continue
    const publicSite = cfg.identity.publicUrl ? `PUBLIC_URL ${publicUrl}` : `the public URL derived from HOST (${new URL(publicUrl).hostname})`
    throw new ConfigError(
      `invalid configuration: CONSOLE_ORIGINS: ${consoleOrigin} is not same-site with ${publicSite}; browsers would never send it the SameSite=Lax session cookie`,
    )
  }
}
