import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'
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
  return (req, res, next) => {
    const startedAt = performance.now()
    const summary: RequestSummary = { id: randomUUID(), method: req.method, path: pathOf(req.url) }
    ;(req as IncomingMessage & { log?: RequestLogger }).log = new RequestLogger(http, summary)
    res.once('close', () => {
      const milliseconds = performance.now() - startedAt
      if (res.writableFinished) answered(summary.path, res.statusCode, milliseconds / 1000)
      const entry = {
        req: summary,
        res: { status: res.statusCode },
        responseTime: Math.round(milliseconds),
        ...(!res.writableFinished && { aborted: true }),
      }
      if (res.statusCode >= 500) http.error(entry, 'request errored')
      else http.info(entry, res.writableFinished ? 'request completed' : 'request aborted')
    })
    next()
  }
}

function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
