import { parseSetCookie } from 'cookie'
import { describe, expect, it } from 'vitest'
import { clearedSessionCookie, sessionCookie } from '../src/http/session-cookie.js'

const token = 'T'.repeat(43)

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Lax, for the whole site, and lives as long as the session', () => {
    expect(sessionCookie(token, { maxAgeSeconds: 604_800, secure: false })).toBe(
      `cocore_session=${token}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax`,
    )
  })

  it('is Secure when the public URL is https', () => {
    expect(parseSetCookie(sessionCookie(token, { maxAgeSeconds: 3_600, secure: true }))).toEqual({
      name: 'cocore_session',
      value: token,
      maxAge: 3_600,
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
    })
  })

  it('is cleared by a cookie of the same name and path that expires at once', () => {
    expect(clearedSessionCookie({ secure: false })).toBe('cocore_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax')
    expect(parseSetCookie(clearedSessionCookie({ secure: true }))).toMatchObject({ name: 'cocore_session', value: '', maxAge: 0, path: '/', secure: true })
  })
})
