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
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  )
}

/**
 * Standard error, written in batches off the caller's path (pino's asynchronous
 * destination): a server writes a line per request, and a synchronous write each would be
 * a system call on every request's path. What is still buffered is written at exit (pino
 * flushes it on `exit` and `beforeExit`).
 */
export function bufferedStderr(): DestinationStream {
  // Written once 4 KB are buffered (about 20 request lines), or every 100 ms: without a
  // minimum, a loaded server made a write system call for nearly every line (3 µs a request,
  // measured under the benchmark's load), and the timer keeps a quiet server's lines prompt.
  // A SIGKILL loses at most the last 100 ms of lines; any exit Node sees flushes them.
  const destination = pino.destination({ dest: 2, sync: false, minLength: 4096 })
  setInterval(() => {
    // Destroyed by pino's exit handler (which writes what is left) when the process ends.
    if (!(destination as { destroyed?: boolean }).destroyed) destination.flush()
  }, 100).unref()
  return destination
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
