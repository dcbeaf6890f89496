import { Readable } from 'node:stream'
import { InternalServerError, type Auth, type HandlerPipeThroughBuffer, type MethodConfig, type MethodConfigOrHandler, type Output, type Server } from '@atproto/xrpc-server'

/**
 * Has every method registered on `server` from now on send its JSON output as bytes
 * serialized here, with `JSON.stringify`, instead of by xrpc-server.
 *
 * Why: xrpc-server sends a JSON body with `res.json(lexToJson(body))`. `lexToJson` copies
 * the body twice on the way (to IPLD values and back, to turn CIDs and bytes into `$link` and
 * `$bytes`), and Express's `res.json` then stringifies it, parses and rewrites the
 * Content-Type it set to add a charset, and measures the string. Measured under the
 * benchmark's load, in one server, a request header choosing the path (bench/README.md,
 * seventh pass), that was about a quarter of a describeService call's CPU (40 → 30 µs).
 * Our outputs hold no CID, bytes or blob (a test checks every lexicon's outputs), so for them
 * `JSON.stringify` writes the same JSON `lexToJson` and `res.json` did, byte for byte; and
 * the response the same headers (xrpc-server sends bytes with `res.end` after setting the
 * same Content-Type, to which Express adds the same `charset=utf-8`; Node writes the
 * Content-Length).
 *
 * xrpc-server checks only body outputs against their lexicon, so when the server validates
 * responses (its own `validateResponse` option, read as it reads it: on unless false; tests,
 * see ServerOptions.validateResponse) the body is checked here first, as xrpc-server checks
 * it, a mismatch a 500 InternalServerError, so tests check the outputs production sends.
 */
export function sendJsonOutputsAsBytes(server: Server): void {
  const register = server.method.bind(server)
  const validate = server.options.validateResponse !== false
  server.method = <A extends Auth>(nsid: string, configOrHandler: MethodConfigOrHandler<A>) => {
    const config: MethodConfig<A> = typeof configOrHandler === 'function' ? { handler: configOrHandler } : configOrHandler
    const check = validate ? (body: unknown) => assertValidOutput(server, nsid, body) : undefined
    const { handler } = config
    register(nsid, {
      ...config,
      handler: (ctx) => {
        const output = handler(ctx)
        return output instanceof Promise ? output.then((resolved) => asJsonBytes(resolved, check)) : asJsonBytes(output, check)
      },
    })
  }
}

/** A JSON body output as the same output, serialized; any other output as it is. */
function asJsonBytes<O extends Output>(output: O, check: ((body: unknown) => void) | undefined): O | HandlerPipeThroughBuffer {
  if (output === undefined || !('body' in output) || output.encoding !== 'application/json') return output
  const { body } = output
  if (body instanceof Readable || body instanceof Uint8Array) return output
  check?.(body)
  const bytes: HandlerPipeThroughBuffer = { encoding: 'application/json', buffer: Buffer.from(JSON.stringify(body)) }
  if (output.headers !== undefined) bytes.headers = output.headers
  return bytes
}

/** xrpc-server's own check of a body output (createLexiconOutputVerifier), as it reports a mismatch. */
function assertValidOutput(server: Server, nsid: string, body: unknown): void {
  try {
    server.lex.assertValidXrpcOutput(nsid, body)
  } catch (cause) {
    throw new InternalServerError(cause instanceof Error ? cause.message : 'Output body validation failed', undefined, { cause })
  }
}
