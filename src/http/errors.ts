import { AuthRequiredError, InvalidRequestError, ResponseType, XRPCError, extractUrlNsid } from '@atproto/xrpc-server'
import type { LexiconDoc } from '@atproto/lexicon'
import type { ErrorRequestHandler } from 'express'
import { databaseUnavailableError, isDatabaseUnavailable } from '../db/unavailable.js'
import { schemas } from '../lexicon/lexicons.js'
import { requestLoggerOf } from './request-log.js'

/**
 * Builds an error for an expected outcome (a refused credential, a rate limit) without a
 * stack trace, whose capture would be most of the cost of answering a flood of them.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
}

/** A refused credential (401). The lexicons name it `AuthRequired` (xrpc-server's default is `AuthenticationRequired`). */
export const authRequired = (message: string) => withoutStack(() => new AuthRequiredError(message, 'AuthRequired'))

/**
 * The error response of an XRPC method: `{ "error": "Name", "message": "…" }` with its
 * status, as xrpc-server's own error handler answers (its router is not mounted whole: see
 * buildApp). A server error (5xx) is logged with its cause, at error; a client's mistake
 * (4xx) is already in the request's own log line with its status, so its details go to
 * debug, which also keeps a flood of bad keys cheap to answer.
 */
export const xrpcErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  const xrpcError = parseXrpcError(err)
  const log = requestLoggerOf(req)
  const details = () => ({ nsid: extractUrlNsid(req.originalUrl), status: xrpcError.statusCode, error: xrpcError.error })
  if (xrpcError.statusCode >= 500) log?.error({ ...details(), err }, 'XRPC method failed')
  else if (log?.isLevelEnabled('debug')) log.debug(details(), 'XRPC method refused the request')
  if (res.headersSent) return next(err)
  res.status(xrpcError.statusCode).json(xrpcError.payload)
}

/**
 * Maps errors raised while reading a request body to the XRPC error names the lexicons use.
 * xrpc-server wraps Express's body-parser errors as they are, named `SyntaxError` (malformed
 * JSON), `PayloadTooLargeError` or `UnsupportedMediaTypeError`; clients expect
 * `InvalidRequest` (400) and `PayloadTooLarge` (413). Everything else keeps xrpc-server's
 * mapping, which already hides the details of a 500.
 */
export function parseXrpcError(err: unknown): XRPCError {
  const bodyError = bodyParserError(err instanceof XRPCError ? err.cause : err)
  if (bodyError?.status === 413) {
    return new XRPCError(ResponseType.PayloadTooLarge, 'Request body is too large', 'PayloadTooLarge', { cause: err })
  }
  if (bodyError && bodyError.status >= 400 && bodyError.status < 500) {
    const message = bodyError.type === 'entity.parse.failed' ? 'Request body is not valid JSON' : bodyError.message
    return new InvalidRequestError(message, undefined, { cause: err })
  }
  if (!(err instanceof XRPCError) && isDatabaseUnavailable(err)) return databaseUnavailableError(err)
  const xrpcError = XRPCError.fromError(err)
  // Other request-reading failures (a corrupt gzip body, say) arrive named after their JS
  // class ("Error"); a client should only ever see error names the lexicons declare.
  if (xrpcError.statusCode === 400 && !declaredErrorNames.has(xrpcError.error ?? '')) {
    return new InvalidRequestError(xrpcError.errorMessage, undefined, { cause: err })
  }
  return xrpcError
}

/** The error names the lexicons declare, and XRPC's own `InvalidRequest`. */
export const declaredErrorNames: ReadonlySet<string> = new Set([
  'InvalidRequest',
  ...Object.values(schemas).flatMap((doc: LexiconDoc) => {
    const main = doc.defs.main
    return main && 'errors' in main ? (main.errors ?? []).map((error) => error.name) : []
  }),
])

type BodyParserError = { status: number; type: string; message: string }

/** body-parser raises http-errors with a `type` such as `entity.too.large`. */
function bodyParserError(err: unknown): BodyParserError | undefined {
  if (typeof err !== 'object' || err === null || err instanceof XRPCError) return undefined
  const { status, type, message } = err as Partial<BodyParserError>
  if (typeof status !== 'number' || typeof type !== 'string' || typeof message !== 'string') return undefined
  return { status, type, message }
}
