import { createECDH, createPrivateKey, type JsonWebKey } from 'node:crypto'
import { isIP } from 'node:net'
import path from 'node:path'
import { isValidDid } from '@atproto/syntax'
import { z } from 'zod'

/**
 * The service's whole configuration, read from the environment once at start-up.
 * Nothing else in the codebase reads `process.env`.
 */
export type Config = {
  port: number
  host: string
  /** Postgres connection string; undefined means the embedded PGlite database. */
  databaseUrl: string | undefined
  /**
   * DATABASE_LISTEN_URL: the connection the invalidation listener LISTENs on (default:
   * databaseUrl). It must be direct or session-mode when DATABASE_URL goes through a
   * transaction-mode pooler, which does not keep a LISTEN (src/db/invalidation-listener.ts).
   */
  listenUrl: string | undefined
  /** DATABASE_POOL_SIZE: the most Postgres connections this instance's pool opens. */
  poolSize: number
  /** Folder of the embedded database (absolute). */
  dataDir: string
  /** How often, at most, a key's `lastUsedAt` is rewritten after its first use. */
  lastUsedIntervalSeconds: number
  /** LOG_LEVEL; unset: the command's own default (src/cli/commands.ts). */
  logLevel: LogLevel | undefined
  version: string
  keyCache: KeyCacheConfig
  identity: IdentityConfig
  /** Most live (unrevoked, unexpired) keys one account may hold; 0: no cap. */
  maxLiveKeysPerAccount: number
  maxStoredKeysPerAccount: number
  limits: LimitsConfig
  /** Express's `trust proxy`: which hops may set X-Forwarded-For (the client address of limits). */
  trustProxy: boolean | number | string
  /** Days the audit trail keeps a row; 0 keeps them forever. */
  auditRetentionDays: number
  /**
   * With a value, GET /metrics requires `Authorization: Bearer <token>`; unset: open on a
   * loopback HOST, else only to loopback peers (src/metrics/metrics-route.ts).
   */
  metricsToken: string | undefined
  /**
   * CONSOLE_ORIGINS: origins (`https://console.example.com`) besides our own whose pages may
   * call the API with the session cookie, and get CORS answers. Each must be same-site with
   * the public URL (checked once that is known: src/http/allowed-origins.ts).
   */
  consoleOrigins: string[]
  /**
   * OAUTH_PRIVATE_KEY: the ES256 private key (a JWK) of the confidential OAuth client the
   * console signs in with (src/oauth/). Unset: a loopback client in development, else
   * sign-in is off. Never logged.
   */
  oauthPrivateKey: Record<string, unknown> | undefined
  /** How long a console session lives (its cookie's Max-Age too), in hours. */
  consoleSessionTtlHours: number
  /**
   * Seconds `serve` keeps serving after SIGTERM while `/xrpc/_health` answers 503, so that a
   * balancer takes the instance out before its listener closes (src/http/shutdown-drain.ts).
   */
  shutdownDrainSeconds: number
}

/** How this service is known to the atproto network (see src/identity/service-identity.ts). */
export type IdentityConfig = {
  /** PUBLIC_URL; unset: derived from HOST and the real port once listening. */
  publicUrl: string | undefined
  /** SERVICE_DID; unset: `did:web:` + the host of the public URL. */
  serviceDid: string | undefined
  plcUrl: string
  lexiconAuthorityDid: string | undefined
}

/** The abuse limits of this instance (see src/limits/limits.ts). */
export type LimitsConfig = {
  /** Failed authentications per client address per minute before 429s; 0: no limit. */
  authFailuresPerMinute: number
  /** createApiKey calls per account per minute; 0: no limit. */
  createKeyPerMinute: number
  /**
   * RATE_LIMIT_STORE: where the limits are counted: `postgres` for the whole fleet (the
   * default with DATABASE_URL), `memory` per instance (the default on the embedded database).
   */
  store: RateLimitStoreKind
}

export const rateLimitStoreKinds = ['postgres', 'memory'] as const
export type RateLimitStoreKind = (typeof rateLimitStoreKinds)[number]

/** The in-process cache of verified credentials (see src/auth/credential-cache.ts). */
export type KeyCacheConfig = {
  enabled: boolean
  maxEntries: number
  ttlSeconds: number
  negativeTtlSeconds: number
  /**
   * On Postgres, how often the invalidation listener proves it is alive; with no heartbeat
   * back within this period the cache stops serving (the worst-case staleness).
   */
  heartbeatSeconds: number
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

/** A configuration value that cannot be used; the CLI reports it and exits with status 2. */
export class ConfigError extends Error {}

/** The cache settings when the environment says nothing (also the sibling verifier's defaults). */
export const defaultKeyCacheConfig: KeyCacheConfig = {
  enabled: true,
  maxEntries: 100_000,
  ttlSeconds: 60,
  negativeTtlSeconds: 5,
  heartbeatSeconds: 5,
}

/** SHUTDOWN_DRAIN_SECONDS on Postgres: a balancer checking health every 1–2 s has seen the 503. */
const defaultShutdownDrainSeconds = 5

const integerFromEnv = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))

const numberFromEnv = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `${name} must be a number`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))

const postgresUrlFromEnv = (name: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : undefined))
    .refine((value) => value === undefined || (/^postgres(ql)?:\/\//.test(value) && URL.canParse(value)), {
      message: `${name} must be a valid postgres:// or postgresql:// URL`,
    })

/** The Postgres pool's size when DATABASE_POOL_SIZE is unset (also the sibling verifier's). */
export const defaultPoolSize = 10

const envSchema = z.object({
  PORT: integerFromEnv('PORT', 0, 65535).default(3000),
  HOST: z.string().trim().min(1, 'HOST must not be empty').default('127.0.0.1'),
  DATABASE_URL: postgresUrlFromEnv('DATABASE_URL'),
  DATABASE_LISTEN_URL: postgresUrlFromEnv('DATABASE_LISTEN_URL'),
  // At least 2: the OAuth client's lock holds a connection while its work queries on another.
  DATABASE_POOL_SIZE: integerFromEnv('DATABASE_POOL_SIZE', 2, 1_000).default(defaultPoolSize),
  DATA_DIR: z.string().trim().min(1, 'DATA_DIR must not be empty').default('./data'),
  LAST_USED_INTERVAL_SECONDS: integerFromEnv('LAST_USED_INTERVAL_SECONDS', 0, 86_400).default(60),
  LOG_LEVEL: z.enum(logLevels, { message: `LOG_LEVEL must be one of ${logLevels.join(', ')}` }).optional(),
  PUBLIC_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || (/^https?:\/\//.test(value) && URL.canParse(value)), {
      message: 'PUBLIC_URL must be an http:// or https:// URL',
    }),
  SERVICE_DID: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || isValidDid(value), { message: 'SERVICE_DID must be a DID' }),
  PLC_URL: z
    .string()
    .trim()
    .default('https://plc.directory')
    .refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), { message: 'PLC_URL must be an http(s) URL' }),
  LEXICON_AUTHORITY_DID: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || isValidDid(value), { message: 'LEXICON_AUTHORITY_DID must be a DID' }),
  AUTH_FAIL_LIMIT_PER_MINUTE: integerFromEnv('AUTH_FAIL_LIMIT_PER_MINUTE', 0, 10_000_000).default(200),
  CREATE_KEY_LIMIT_PER_MINUTE: integerFromEnv('CREATE_KEY_LIMIT_PER_MINUTE', 0, 10_000_000).default(200),
  RATE_LIMIT_STORE: z.enum(rateLimitStoreKinds, { message: `RATE_LIMIT_STORE must be one of ${rateLimitStoreKinds.join(', ')}` }).optional(),
  TRUST_PROXY: z
    .string()
    .trim()
    .default('off')
    .refine(isTrustProxyValue, {
      message: 'TRUST_PROXY must be off, on, a number of hops, or a comma-separated list of addresses/subnets',
    })
    .transform(parseTrustProxy),
  MAX_LIVE_KEYS_PER_ACCOUNT: integerFromEnv('MAX_LIVE_KEYS_PER_ACCOUNT', 0, 1_000_000).default(100),
  MAX_STORED_KEYS_PER_ACCOUNT: integerFromEnv('MAX_STORED_KEYS_PER_ACCOUNT', 0, 1_000_000).default(1000),
  AUDIT_RETENTION_DAYS: integerFromEnv('AUDIT_RETENTION_DAYS', 0, 36_500).default(365),
  METRICS_TOKEN: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : undefined))
    // Sent as `Authorization: Bearer <token>`: a token with a space in it could never match.
    .refine((value) => value === undefined || /^\S+$/.test(value), { message: 'METRICS_TOKEN must not contain spaces' }),
  CONSOLE_ORIGINS: z
    .string()
    .optional()
    .transform((value, issue) => {
      const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
      const origins: string[] = []
      for (const entry of entries) {
        const origin = parseOrigin(entry)
        if (origin === undefined) {
          issue.addIssue({ code: 'custom', message: `${entry} is not an origin (an http:// or https:// scheme and host, with no path or query)` })
          return z.NEVER
        }
        origins.push(origin)
      }
      return [...new Set(origins)]
    }),
  OAUTH_PRIVATE_KEY: z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (!value) return undefined
      const key = parsePrivateJwk(value)
      if (typeof key === 'string') {
        ctx.addIssue({ code: 'custom', message: key })
        return z.NEVER
      }
      return key
    }),
  CONSOLE_SESSION_TTL_HOURS: integerFromEnv('CONSOLE_SESSION_TTL_HOURS', 1, 8_760).default(168),
  // Unset: the default depends on the database (see readConfig).
  SHUTDOWN_DRAIN_SECONDS: numberFromEnv('SHUTDOWN_DRAIN_SECONDS', 0, 300).optional(),
  KEY_CACHE: z.enum(['on', 'off'], { message: 'KEY_CACHE must be on or off' }).default('on'),
  KEY_CACHE_SIZE: integerFromEnv('KEY_CACHE_SIZE', 1, 10_000_000).default(defaultKeyCacheConfig.maxEntries),
  KEY_CACHE_TTL_SECONDS: numberFromEnv('KEY_CACHE_TTL_SECONDS', 0.001, 86_400).default(defaultKeyCacheConfig.ttlSeconds),
  NEGATIVE_CACHE_TTL_SECONDS: numberFromEnv('NEGATIVE_CACHE_TTL_SECONDS', 0, 3_600).default(defaultKeyCacheConfig.negativeTtlSeconds),
  LISTENER_HEARTBEAT_SECONDS: numberFromEnv('LISTENER_HEARTBEAT_SECONDS', 0.1, 300).default(defaultKeyCacheConfig.heartbeatSeconds),
})

/** The variables readConfig reads, as the environment spells them. */
export type ConfigEnv = { [name in keyof z.input<typeof envSchema>]?: string }

/** Validates the environment; throws a ConfigError whose message names the bad variable. */
export function readConfig(env: NodeJS.ProcessEnv, version: string): Config {
  // An empty variable means "unset", as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const variable = issue?.path.join('.') ?? 'environment'
    throw new ConfigError(`invalid configuration: ${variable}: ${issue?.message ?? 'invalid value'}`)
  }
  const values = parsed.data
  // The confidential client's id is `${PUBLIC_URL}/oauth/client-metadata.json`, which an
  // authorization server fetches, and only over https.
  if (values.OAUTH_PRIVATE_KEY && !values.PUBLIC_URL?.startsWith('https://')) {
    throw new ConfigError('invalid configuration: OAUTH_PRIVATE_KEY: needs an https:// PUBLIC_URL (the OAuth client id is served under it)')
  }
  if (values.DATABASE_LISTEN_URL && !values.DATABASE_URL) {
    throw new ConfigError('invalid configuration: DATABASE_LISTEN_URL: needs DATABASE_URL (the embedded database has no listener)')
  }
  // The embedded database has one process by construction (its data-dir lock): nothing to share.
  if (values.RATE_LIMIT_STORE === 'postgres' && !values.DATABASE_URL) {
    throw new ConfigError('invalid configuration: RATE_LIMIT_STORE: postgres needs DATABASE_URL (the embedded database counts in memory)')
  }
  return {
    port: values.PORT,
    host: values.HOST,
    databaseUrl: values.DATABASE_URL,
    listenUrl: values.DATABASE_LISTEN_URL ?? values.DATABASE_URL,
    poolSize: values.DATABASE_POOL_SIZE,
    dataDir: path.resolve(values.DATA_DIR),
    lastUsedIntervalSeconds: values.LAST_USED_INTERVAL_SECONDS,
    logLevel: values.LOG_LEVEL,
    version,
    maxLiveKeysPerAccount: values.MAX_LIVE_KEYS_PER_ACCOUNT,
    maxStoredKeysPerAccount: values.MAX_STORED_KEYS_PER_ACCOUNT,
    limits: {
      authFailuresPerMinute: values.AUTH_FAIL_LIMIT_PER_MINUTE,
      createKeyPerMinute: values.CREATE_KEY_LIMIT_PER_MINUTE,
      store: values.RATE_LIMIT_STORE ?? (values.DATABASE_URL ? 'postgres' : 'memory'),
    },
    trustProxy: values.TRUST_PROXY,
    auditRetentionDays: values.AUDIT_RETENTION_DAYS,
    metricsToken: values.METRICS_TOKEN,
    consoleOrigins: values.CONSOLE_ORIGINS,
    oauthPrivateKey: values.OAUTH_PRIVATE_KEY,
    consoleSessionTtlHours: values.CONSOLE_SESSION_TTL_HOURS,
    // Only a Postgres deployment can have several instances behind a balancer; the embedded
    // database belongs to one process, which nothing routes around, so it stops at once.
    shutdownDrainSeconds: values.SHUTDOWN_DRAIN_SECONDS ?? (values.DATABASE_URL ? defaultShutdownDrainSeconds : 0),
    identity: {
      publicUrl: values.PUBLIC_URL?.replace(/\/+$/, ''),
      serviceDid: values.SERVICE_DID,
      plcUrl: values.PLC_URL.replace(/\/+$/, ''),
      lexiconAuthorityDid: values.LEXICON_AUTHORITY_DID,
    },
    keyCache: {
      enabled: values.KEY_CACHE === 'on',
      maxEntries: values.KEY_CACHE_SIZE,
      ttlSeconds: values.KEY_CACHE_TTL_SECONDS,
      negativeTtlSeconds: values.NEGATIVE_CACHE_TTL_SECONDS,
      heartbeatSeconds: values.LISTENER_HEARTBEAT_SECONDS,
    },
  }
}

/**
 * An origin as a browser serialises it in the Origin header (`https://host[:port]`, the
 * default port left out, the host lower-cased), or undefined when the entry is not just an
 * origin: a path, query, fragment or user name would never match any Origin header.
 */
function parseOrigin(entry: string): string | undefined {
  if (!URL.canParse(entry)) return undefined
  const url = new URL(entry)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return undefined
  // URL drops an empty query or fragment (`https://a.example?`); the entry still had one.
  if (/[?#]/.test(entry)) return undefined
  return url.origin
}

const privateJwkRule = 'OAUTH_PRIVATE_KEY must be an ES256 private key as a JWK (kty EC, crv P-256, with d)'

/**
 * The OAuth client's private key, or why it cannot be one. The messages never quote the
 * value: it is a secret, and a config error is printed.
 */
function parsePrivateJwk(value: string): Record<string, unknown> | string {
  let jwk: unknown
  try {
    jwk = JSON.parse(value)
  } catch {
    return 'OAUTH_PRIVATE_KEY must be JSON (a JWK)'
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return privateJwkRule
  const fields = jwk as Record<string, unknown>
  if (fields.kty !== 'EC' || fields.crv !== 'P-256' || typeof fields.d !== 'string') return privateJwkRule
  if (fields.alg !== undefined && fields.alg !== 'ES256') return privateJwkRule
  try {
    // d, x and y must make one key pair: the public key served in the JWKS must be the one
    // whose private half signs.
    createPrivateKey({ key: fields as JsonWebKey, format: 'jwk' })
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(Buffer.from(fields.d, 'base64url'))
    const point = ecdh.getPublicKey()
    if (point.subarray(1, 33).toString('base64url') !== fields.x || point.subarray(33).toString('base64url') !== fields.y) return privateJwkRule
  } catch {
    return privateJwkRule
  }
  return fields
}

const trustProxyNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isTrustProxyValue(value: string): boolean {
  if (/^(off|on|false|true|\d+)$/i.test(value)) return true
  return value.split(',').every((entry) => {
    const item = entry.trim()
    const [address = '', bits, ...rest] = item.split('/')
    return trustProxyNames.has(item) || (rest.length === 0 && isIP(address) !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits)))
  })
}

function parseTrustProxy(value: string): boolean | number | string {
  if (/^(off|false)$/i.test(value)) return false
  if (/^(on|true)$/i.test(value)) return true
  if (/^\d+$/.test(value)) return Number(value)
  return value
}

/**
 * Which database, safe for logs: user, host, port and database name only. A password can
 * hide in the query string too (`?password=`, `sslpassword=`), so none of it is shown.
 */
export function describeDatabase(cfg: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (!cfg.databaseUrl) return `embedded PGlite in ${cfg.dataDir}`
  return describePostgresUrl(cfg.databaseUrl)
}

/** A Postgres URL without its password or query string (see describeDatabase). */
export function describePostgresUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    const user = url.username ? `${url.username}@` : ''
    return `postgres ${url.protocol}//${user}${url.host}${url.pathname}`
  } catch {
    return 'postgres (unparseable URL)'
  }
}
