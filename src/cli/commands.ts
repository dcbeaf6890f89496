import { isValidDid } from '@atproto/syntax'
import readline from 'node:readline'
import type { ParseArgsConfig } from 'node:util'
import { cliActor } from '../auth/actor.js'
import type { Config, LogLevel } from '../config.js'
import type { AppContext } from '../context.js'
import type { Logger } from '../logger.js'
import { pdsUrlProblem, publishLexicons } from '../lexicon-publishing/publish.js'
import { AccountServer } from '../server.js'
import { checkKeyInput, KeyInputError, type KeyInputField } from '../services/key-input.js'

/** Bad command-line input: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** What a command's work gets: the configuration, and the database only if it asks. */
export type CommandRuntime = {
  cfg: Config
  logger: Logger
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  /** Aborted by a second SIGINT/SIGTERM: skip what is left of a graceful stop (serve's drain). */
  hurry: AbortSignal
  /** Opens (and migrates) the database on first call. */
  appContext(): Promise<AppContext>
}
type Run = (runtime: CommandRuntime) => Promise<unknown>

/** The work of a one-shot command that needs the database (all but `lexicons publish`). */
const withDatabase =
  (work: (ctx: AppContext, signal: AbortSignal) => Promise<unknown>): Run =>
  async (runtime) =>
    work(await runtime.appContext(), runtime.signal)

/**
 * A command checks its arguments first and returns the work to run: bad input never waits
 * on the database or migrates anything. The work returns the JSON result printed on
 * stdout, or undefined (serve). It calls the same services as the XRPC methods, so the CLI
 * and the API cannot disagree.
 */
export type Command = {
  usage: string
  /** Runs until SIGINT/SIGTERM, which it turns into a graceful stop (the run's signal). */
  handlesSignals?: boolean
  /**
   * The log level when LOG_LEVEL is unset; default `warn`: a one-shot command's stderr is
   * its one error line (or nothing), not progress notes such as the database opening.
   */
  logLevel?: LogLevel
  /** Its log lines are written in batches (see bufferedStderr): a server's, one per request. */
  bufferedLog?: boolean
  options: NonNullable<ParseArgsConfig['options']>
  parse(values: Values): Run
}

const maxSessionTtlHours = 24 * 366
const didOption = { did: { type: 'string' } } as const

export const commands: Record<string, Command> = {
  serve: {
    usage: 'serve',
    options: {},
    handlesSignals: true,
    // A server's start-up line and one line per request are its record.
    logLevel: 'info',
    bufferedLog: true,
    // The server opens its own context, and starts it: no other command runs background work.
    parse: () => async ({ cfg, logger, signal, hurry }) => {
      const server = await AccountServer.create(cfg, logger)
      try {
        if (!signal.aborted) await server.start()
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        logger.info('shutting down')
        await server.drain(hurry)
      } finally {
        await server.destroy()
      }
      return undefined
    },
  },
  migrate: {
    usage: 'migrate',
    options: {},
    // Opening the database has already brought it to the latest migration.
    parse: () => withDatabase(async () => ({ migrated: true })),
  },
  'keys create': {
    usage: 'keys create --did DID --name NAME [--expires-at ISO] [--scopes SCOPE,SCOPE...]',
    options: { ...didOption, name: { type: 'string' }, 'expires-at': { type: 'string' }, scopes: { type: 'string' } },
    parse(values) {
      const did = requireDid(values)
      const input = {
        name: requireString(values, 'name'),
        expiresAt: optionalString(values, 'expires-at'),
        // Unset: an unscoped key, as before scopes existed (the operator holds every scope).
        scopes: optionalString(values, 'scopes')?.split(',').map((scope) => scope.trim()),
      }
      // create checks its input itself (against the time it runs at); the same check runs
      // here first so that bad input never waits on the database or migrates anything.
      try {
        checkKeyInput(input, new Date())
      } catch (err) {
        throw namingOption(err)
      }
      return withDatabase((ctx) =>
        ctx.apiKeys.create({ did, ...input, createdBy: cliActor }, ctx.now()).catch((err: unknown) => {
          throw namingOption(err)
        }),
      )
    },
  },
  'keys revoke-all': {
    usage: 'keys revoke-all --did DID',
    options: didOption,
    parse(values) {
      const did = requireDid(values)
      return withDatabase(async (ctx) => ({ revoked: await ctx.apiKeys.revokeAll(did, cliActor, ctx.now()) }))
    },
  },
  'sessions create': {
    usage: 'sessions create --did DID [--ttl-hours N]',
    options: { ...didOption, 'ttl-hours': { type: 'string' } },
    parse(values) {
      const did = requireDid(values)
      const ttlHours = parseTtlHours(optionalString(values, 'ttl-hours'))
      return withDatabase(async (ctx) => {
        const session = await ctx.sessions.create(
          // Unset, a session lives as long as one from the console's sign-in.
          { did, ttlHours: ttlHours ?? ctx.cfg.consoleSessionTtlHours, createdBy: cliActor },
          ctx.now(),
        )
        return { token: session.token, cookie: session.cookie, expiresAt: session.expiresAt }
      })
    },
  },
  'lexicons publish': {
    usage: 'lexicons publish --pds URL --identifier HANDLE_OR_DID [--dry-run]   (app password: ATPROTO_APP_PASSWORD or stdin)',
    options: { pds: { type: 'string' }, identifier: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    parse(values) {
      const pds = requireString(values, 'pds')
      const problem = pdsUrlProblem(pds)
      if (problem) throw new UsageError(`--pds: ${problem}`)
      const identifier = requireString(values, 'identifier')
      const dryRun = values['dry-run'] === true
      // Needs no database: it talks to the PDS only.
      return async ({ cfg, env }) => {
        // Never a flag: flags show in `ps`.
        const password = dryRun ? undefined : env.ATPROTO_APP_PASSWORD || (await readLineFromStdin('App password: '))
        const result = await publishLexicons({
          pds,
          identifier,
          password,
          dryRun,
          authorityDid: cfg.identity.lexiconAuthorityDid,
        })
        for (const record of result.dnsRecords) process.stderr.write(`set this DNS record: ${record}\n`)
        return result
      }
    },
  },
  'sessions revoke': {
    usage: 'sessions revoke --did DID',
    options: didOption,
    parse(values) {
      const did = requireDid(values)
      return withDatabase(async (ctx) => ({ revoked: await ctx.sessions.revokeAll(did, cliActor, ctx.now()) }))
    },
  },
}

async function readLineFromStdin(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt)
  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    lines.close()
    return line.trim()
  }
  return ''
}

function requireDid(values: Values): string {
  const did = requireString(values, 'did')
  if (!isValidDid(did)) throw new UsageError(`--did: "${did}" is not a valid DID (expected did:plc:… or did:web:…)`)
  return did
}

function requireString(values: Values, option: string): string {
  const value = values[option]
  if (typeof value !== 'string') throw new UsageError(`missing --${option}`)
  return value
}

function optionalString(values: Values, option: string): string | undefined {
  const value = values[option]
  return typeof value === 'string' ? value : undefined
}

/** The flag's hours (fractions allowed, as they always were); undefined when not given. */
function parseTtlHours(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const hours = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!(hours > 0 && hours <= maxSessionTtlHours)) {
    throw new UsageError(`--ttl-hours must be a number of hours above 0 and at most ${maxSessionTtlHours}`)
  }
  return hours
}

/** The option of each field of a key request. */
const keyInputOptions: Record<KeyInputField, string> = { name: '--name', expiresAt: '--expires-at', scopes: '--scopes' }

/** A bad field of a key request as a usage error that names its option; any other error as it is. */
function namingOption(err: unknown): unknown {
  return err instanceof KeyInputError ? new UsageError(`${keyInputOptions[err.field]} ${err.problem}`) : err
}
