/** The credential a caller presents: an API key as a bearer, or the console's cookie. */
export type Presented = { bearer: string } | { sessionCookie: string }

/** dev.cocore.account.getSession with that credential, straight from the test (no browser). */
export async function getSession(serviceUrl: string, presented: Presented): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = 'bearer' in presented ? { authorization: `Bearer ${presented.bearer}` } : { cookie: `cocore_session=${presented.sessionCookie}` }
  const res = await fetch(`${serviceUrl}/xrpc/dev.cocore.account.getSession`, { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
