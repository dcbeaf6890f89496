import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
// The service as built by the root package (its npm ci builds dist/), started through the
// production path: readConfig with an operator's environment, then AccountServer.
import { AccountServer, createLogger, readConfig } from '../../../dist/src/index.js'

export type AccountService = { url: string; port: number; server: AccountServer; close(): Promise<void> }

/**
 * Our service in loopback development mode: no OAUTH_PRIVATE_KEY and a PUBLIC_URL on
 * 127.0.0.1, so it signs people in as a loopback OAuth client whose redirect URI (and so
 * its cookies) live on 127.0.0.1 (RFC 8252). The port is chosen first, because PUBLIC_URL
 * names it. `publicUrl` may name another instance, as behind a load balancer.
 */
export async function startAccountService(opts: { plcUrl: string; databaseUrl?: string; publicUrl?: string }): Promise<AccountService> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-'))
  const cfg = readConfig(
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: opts.publicUrl ?? url,
      PLC_URL: opts.plcUrl,
      DATA_DIR: dataDir,
      DATABASE_URL: opts.databaseUrl,
      LOG_LEVEL: 'warn',
    },
    'browser-test',
  )
  const server = await AccountServer.create(cfg, createLogger('warn'))
  await server.start()
  return {
    url,
    port,
    server,
    async close() {
      await server.destroy()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}
