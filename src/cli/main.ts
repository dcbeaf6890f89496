import { parseArgs } from 'node:util'
import { commands, UsageError } from './commands.js'
import { ConfigError, readConfig, type Config } from '../config.js'
import { AppContext } from '../context.js'
import { bufferedStderr, createLogger } from '../logger.js'
import { readPackageVersion } from '../package-root.js'

const exitOk = 0
/** A run-time failure: database unreachable, data folder locked, port taken. */
const exitFailure = 1
/** Bad arguments or configuration. */
const exitUsage = 2

const usage = [
  'usage: cocore-account <command> [options]',
  '',
  ...Object.values(commands).map((command) => `  ${command.usage}`),
  '',
  'Configuration comes from the environment: PORT, HOST, DATABASE_URL, DATA_DIR,',
  'LAST_USED_INTERVAL_SECONDS, LOG_LEVEL (see README.md).',
].join('\n')

/**
 * Runs one command. Its JSON result is the only thing written to stdout; logs and errors go
 * to stderr as one line. Returns the exit status.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${usage}\n`)
    return exitOk
  }
  if (argv.length === 0) return fail('missing command (run cocore-account --help)', exitUsage)

  let cfg: Config
  let command: ReturnType<typeof parseCommand>
  try {
    command = parseCommand(argv)
    cfg = readConfig(env, readPackageVersion())
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) return fail(err.message, exitUsage)
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      return fail(err.message, exitUsage)
    }
    throw err
  }

  const logger = createLogger(cfg.logLevel ?? command.logLevel, command.bufferedLog ? bufferedStderr() : undefined)
  // Only a long-running command turns SIGINT/SIGTERM into a graceful stop (from the start,
  // so a signal while the database opens is not lost); the others just die as usual. A
  // second signal hurries the stop (skips serve's drain) and gives the signals back to
  // Node, so that a third one kills a stop that hangs, as a second one did before drains.
  const shutdown = new AbortController()
  const hurry = new AbortController()
  const stop = () => {
    if (!shutdown.signal.aborted) return shutdown.abort()
    hurry.abort()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  if (command.handlesSignals) {
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  }
  let opened: Promise<AppContext> | undefined
  const appContext = () => (opened ??= AppContext.create(cfg, logger))
  try {
    const result = await command.run({ cfg, logger, env, signal: shutdown.signal, hurry: hurry.signal, appContext })
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`)
    return exitOk
  } catch (err) {
    // A ConfigError can also come later, from a check that needs more than the environment
    // (e.g. the console origins against the public URL, as the server is built).
    if (err instanceof UsageError || err instanceof ConfigError) return fail(err.message, exitUsage)
    return fail(describeFailure(err), exitFailure)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await opened?.then((ctx) => ctx.destroy()).catch(() => undefined)
  }
}

function parseCommand(argv: string[]) {
  const name = ['keys', 'sessions', 'lexicons'].includes(argv[0] ?? '') ? `${argv[0]} ${argv[1] ?? ''}` : (argv[0] ?? '')
  const command = commands[name]
  if (!command) throw new UsageError(`unknown command "${name.trim()}" (run cocore-account --help)`)
  const { values } = parseArgs({
    args: argv.slice(name.split(' ').length),
    options: command.options,
    strict: true,
    allowPositionals: false,
  })
  return {
    run: command.parse(values),
    handlesSignals: command.handlesSignals === true,
    logLevel: command.logLevel ?? 'warn',
    bufferedLog: command.bufferedLog === true,
  }
}

function fail(message: string, status: number): number {
  process.stderr.write(`cocore-account: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  return status
}

/** One line that says what went wrong, without a stack. */
function describeFailure(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return describeFailure(err.errors[0])
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    return err.message || code || err.name
  }
  return String(err)
}
