/**
 * The page's only way to the service: the same XRPC methods any client calls, authenticated
 * by the session cookie. The cookie is same-site and HttpOnly, so the page never sees it.
 */

/** A call that did not succeed: the HTTP status (0 when the service was not reached) and the XRPC error body, if any. */
export class XrpcFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorName: string | undefined,
    readonly serverMessage: string | undefined,
  ) {
    super(`${status} ${errorName ?? ''}`)
  }
}

/** A query; parameters left undefined are not sent. */
export function xrpcQuery<T>(nsid: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, String(value))
  const search = query.toString()
  return call<T>(search === '' ? nsid : `${nsid}?${search}`, { method: 'GET' })
}

export function xrpcProcedure<T>(nsid: string, input: object): Promise<T> {
  return call<T>(nsid, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input) })
}

async function call<T>(nsid: string, init: RequestInit): Promise<T> {
  let res: Response
  try {
    res = await fetch(`/xrpc/${nsid}`, { ...init, credentials: 'same-origin', cache: 'no-store' })
  } catch {
    throw new XrpcFailure(0, undefined, undefined)
  }
  const body: unknown = await res.json().catch(() => undefined)
  if (!res.ok) {
    const error = field(body, 'error')
    throw new XrpcFailure(res.status, error, field(body, 'message'))
  }
  return body as T
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : undefined
}
