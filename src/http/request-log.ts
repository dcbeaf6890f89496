import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'
import { pino } from 'pino'
import type { Logger } from '../logger.js'

/** What a request's log line says of it. Headers are never logged. */
type RequestSummary = { id: string; method: string; path: string }

/**
 * The logger of one request (`req.log`): what it writes carries the request's summary, so an
 * error line can be matched with the request's own line.
 */
export class RequestLogger {
  constructor(
    private readonly logger: Logger,
    private readonly req: RequestSummary,
  ) {}

  error(entry: object, message?: string): void {
    this.logger.error({ req: this.req, ...entry }, message)
  }

  isLevelEnabled(level: string): boolean {
    return this.logger.isLevelEnabled(level)
  }

  debug(entry: object, message?: string): void {
    this.logger.debug({ req: this.req, ...entry }, message)
  }
}

/** The request's logger, set by requestLog (absent before it, e.g. in a unit test). */
export function requestLoggerOf(req: IncomingMessage): RequestLogger | undefined {
  return (req as IncomingMessage & { log?: RequestLogger }).log
}

/** Told of every answered request (not of one the client gave up on): the metrics. */
export type RequestAnswered = (path: string, status: number, seconds: number) => void

/**
 * One log line per request, once the response has gone out (or the client gave up): its
 * id, method, path (no query: it can hold anything), status and latency in ms, at info (error
 * for a 5xx). The same line pino-http wrote, for a fraction of its cost: pino-http built two
 * child loggers per request, serialising the request into each, and three listeners; this is
 * one small object and one listener, which also tells `answered` (the request metrics), so
 * that a request's end costs one listener in all.
 */
export function requestLog(logger: Logger, answered: RequestAnswered): RequestHandler {
  const http = logger.child({ subsystem: 'http' })
  const infoLine = new RequestLine(http)
  return (req, res, next) => {
    const startedAt = performance.now()
    const summary: RequestSummary = { id: randomUUID(), method: req.method, path: pathOf(req.url) }
    ;(req as IncomingMessage & { log?: RequestLogger }).log = new RequestLogger(http, summary)
    res.once('close', () => {
      const milliseconds = performance.now() - startedAt
      const finished = res.writableFinished
      if (finished) answered(summary.path, res.statusCode, milliseconds / 1000)
      if (res.statusCode < 500) {
        infoLine.write(summary, res.statusCode, Math.round(milliseconds), finished)
        return
      }
      const entry = { req: summary, res: { status: res.statusCode }, responseTime: Math.round(milliseconds), ...(!finished && { aborted: true }) }
      http.error(entry, 'request errored')
    })
    next()
  }
}

/**
 * Writes the info line of a request, byte for byte the line `logger.info(entry, message)`
 * writes (pino's level, time and the logger's bindings first, `msg` last), built from a
 * template: the line is written on every request, and pino's general path (its
 * serialisers, redaction pass and generic JSON writer, for an object whose shape never
 * changes and which holds no header) cost more than the rest of the line (measured under
 * the benchmark's load). Errors and every other line still go through pino.
 */
export class RequestLine {
  /** `,"pid":…,"name":…,"subsystem":"http"`: the logger's bindings as pino writes them. */
  private readonly bindings: string
  private readonly stream: { write(line: string): unknown }

  constructor(private readonly logger: Logger) {
    const internals = logger as unknown as Record<symbol, unknown>
    this.bindings = internals[pino.symbols.chindingsSym] as string
    this.stream = internals[pino.symbols.streamSym] as { write(line: string): unknown }
  }

  write(req: RequestSummary, status: number, responseTime: number, finished: boolean): void {
    if (!this.logger.isLevelEnabled('info')) return
    const end = finished ? '"msg":"request completed"' : '"aborted":true,"msg":"request aborted"'
    this.stream.write(
      `{"level":30,"time":${Date.now()}${this.bindings},"req":{"id":"${req.id}","method":${JSON.stringify(req.method)},"path":${JSON.stringify(req.path)}},"res":{"status":${status}},"responseTime":${responseTime},${end}}\n`,
    )
  }
}

function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
