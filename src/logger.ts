import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config.js'

export type { Logger }

/**
 * Structured JSON logs on stderr: a command's stdout carries only its JSON result.
 * Credentials never reach a log line: request headers are not serialised at all (and are
 * redacted should a caller log them), and database errors lose their `detail`, which for a
 * unique violation would quote the offending value (a key or token hash).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'cocore-account',
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
        censor: '[redacted]',
      },
      serializers: { err: serializeError },
      hooks: {
        // xrpc-server logs every error response at level error, a 401 as loudly as a crash.
        // A client's mistake (4xx) is already in the request's own log line with its status;
        // its details go to debug, which also keeps a flood of bad keys cheap to answer.
        logMethod(args, method, level) {
          if (level >= 50 && isClientErrorLog(args[0])) return this.debug(...(args as [object]))
          return method.apply(this, args)
        },
      },
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  )
}

function isClientErrorLog(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false
  const { name, status } = entry as { name?: unknown; status?: unknown }
  return name === 'xrpc-server' && typeof status === 'number' && status < 500
}

/**
 * Only these fields of an error are logged. Database errors carry the statement's
 * parameters (PGlite: `params`; pg: `detail` quotes a conflicting value), which can hold a
 * key or token hash, so everything not listed is dropped.
 */
const loggedErrorFields = ['type', 'name', 'message', 'code', 'constraint', 'status', 'stack'] as const

function serializeError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err
  const source = (err instanceof Error ? stdSerializers.err(err) : err) as Record<string, unknown>
  const serialized: Record<string, unknown> = {}
  for (const field of loggedErrorFields) if (source[field] !== undefined) serialized[field] = source[field]
  return serialized
}
