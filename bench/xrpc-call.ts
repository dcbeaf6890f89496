// How the benchmark and the soak call the server: plain fetch, one dev.cocore.account.* method.

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

export type CallOptions = {
  /** A procedure's JSON input; without one the call is a query (GET). */
  body?: unknown
  /** Extra headers, e.g. X-Forwarded-For to stand for one of many clients. */
  headers?: Record<string, string>
}

export function callMethod(serverUrl: string, method: string, secret: string, opts: CallOptions = {}): Promise<Response> {
  const { body, headers } = opts
  return fetch(`${serverUrl}/xrpc/dev.cocore.account.${method}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...bearer(secret), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}
