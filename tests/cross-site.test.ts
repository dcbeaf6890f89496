import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, readConfig, type ConfigEnv } from '../src/config.js'
import { checkConsoleOrigins } from '../src/http/allowed-origins.js'
import { runCli } from './_util/cli.js'

const publicUrl = 'https://account.example.com'
const consoleOrigin = 'https://console.example.com'
const foreignOrigin = 'https://evil.example.net'

describe('CONSOLE_ORIGINS', () => {
  const check = (env: ConfigEnv) => () => checkConsoleOrigins(readConfig(env, 'test'))

  it.each([
    ['a sibling host', 'https://account.example.com', 'https://console.example.com'],
    ['the parent domain', 'https://account.example.com', 'https://example.com'],
    ['another port', 'https://account.example.com', 'https://console.example.com:8443'],
    ['a sibling under a two-label public suffix', 'https://account.example.co.uk', 'https://console.example.co.uk'],
    ['the same IP address on another port', 'http://192.0.2.7:3000', 'http://192.0.2.7:5173'],
    ['127.0.0.1 for a localhost public URL (loopback mode)', 'http://localhost:3000', 'http://127.0.0.1:5173'],
  ])('accepts %s', (_case, PUBLIC_URL, CONSOLE_ORIGINS) => {
    expect(check({ PUBLIC_URL, CONSOLE_ORIGINS })).not.toThrow()
  })

  it.each([
    ['another registrable domain', 'https://account.example.com', 'https://console.example.net'],
    ['another scheme (schemeful same-site)', 'https://account.example.com', 'http://console.example.com'],
    ['a sibling under a private public suffix (github.io)', 'https://account.github.io', 'https://console.github.io'],
    ['two hosts under co.uk', 'https://account.example.co.uk', 'https://console.other.co.uk'],
    ['another IP address', 'http://192.0.2.7:3000', 'http://192.0.2.8:3000'],
    ['a LAN host for a loopback public URL', 'http://localhost:3000', 'http://192.168.1.10:5173'],
  ])('refuses %s', (_case, PUBLIC_URL, CONSOLE_ORIGINS) => {
    expect(check({ PUBLIC_URL, CONSOLE_ORIGINS })).toThrow(ConfigError)
  })

  it('checks against the public URL derived from HOST when PUBLIC_URL is unset', () => {
    expect(check({ HOST: '192.0.2.7', CONSOLE_ORIGINS: 'http://192.0.2.7:5173' })).not.toThrow()
    expect(check({ HOST: '192.0.2.7', CONSOLE_ORIGINS: 'https://console.example.com' })).toThrow(ConfigError)
  })

  it('is normalised to origins as browsers send them', () => {
    expect(readConfig({ CONSOLE_ORIGINS: 'https://Console.Example.com:443/, http://127.0.0.1:5173' }, 'test').consoleOrigins).toEqual([
      'https://console.example.com',
      'http://127.0.0.1:5173',
    ])
    expect(readConfig({}, 'test').consoleOrigins).toEqual([])
  })

  it.each([
    ['a path', 'https://console.example.com/app'],
    ['a query', 'https://console.example.com?x=1'],
    ['a scheme other than http(s)', 'chrome-extension://abcdef'],
    ['the opaque origin', 'null'],
  ])('refuses an entry with %s', (_case, CONSOLE_ORIGINS) => {
    expect(() => readConfig({ CONSOLE_ORIGINS }, 'test')).toThrow(/CONSOLE_ORIGINS/)
  })

  it.each([
    ['a cross-site console origin', { PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: foreignOrigin }],
    ['a cross-site console origin, PUBLIC_URL derived', { HOST: '127.0.0.1', CONSOLE_ORIGINS: consoleOrigin }],
    ['a console origin with a path', { PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: `${consoleOrigin}/app` }],
  ])('makes `serve` exit 2 with one line naming CONSOLE_ORIGINS for %s', async (_case, env) => {
    const result = await runCli(['serve'], { PORT: '0', DATA_DIR: '/nonexistent/never-opened', ...env })
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/CONSOLE_ORIGINS/)
  })
})
