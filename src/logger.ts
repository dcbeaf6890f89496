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
 * Standard error, written in batches: a server writes a line per request, and a write
 * system call each would be one on every request's path. Lines are gathered (see LineBatch)
 * and written 4 KB at a time (about 20 request lines), or every 100 ms, so that a quiet
 * server's lines stay prompt. A SIGKILL loses at most the last 100 ms of lines; any exit
 * Node sees writes them.
 */
export function bufferedStderr(): DestinationStream {
  // Synchronous: each write is a batch, and what is written is never held in a second
  // buffer that an exit would have to reach. (pino's asynchronous destination gathered the
  // lines itself, but appended each to one growing string and measured its byte length,
  // which copied the whole batch on every line: 5 KB of garbage a request under load.)
  const batch = new LineBatch(pino.destination({ dest: 2, sync: true }), 4096)
  setInterval(() => batch.flush(), 100).unref()
  process.once('exit', () => batch.flush())
  return batch
}

/**
 * Log lines gathered in an array and handed to `out` joined, once they reach `minLength`
 * characters or `flush` is called: one write, and one copy of each line, per batch.
 */
export class LineBatch implements DestinationStream {
  private lines: string[] = []
  private length = 0

  constructor(
    private readonly out: { write(chunk: string): unknown },
    private readonly minLength: number,
  ) {}

  write(line: string): void {
    this.lines.push(line)
    this.length += line.length
    if (this.length >= this.minLength) this.flush()
  }

  flush(): void {
    if (this.lines.length === 0) return
    const chunk = this.lines.join('')
    this.lines = []
    this.length = 0
    this.out.write(chunk)
  }
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
