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

function serializeError(err: unknown) {
  if (!(err instanceof Error)) return err
  const serialized: Record<string, unknown> = { ...stdSerializers.err(err) }
  delete serialized.detail
  delete serialized.parameters
  return serialized
}
