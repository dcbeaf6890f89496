import net from 'node:net'

export type ProxyMode = 'pass' | 'blackhole' | 'refuse'

/**
 * A TCP proxy between the service and Postgres that a test can break: `blackhole` swallows
 * every byte in either direction while the sockets stay open (no FIN, no RST), as a silent
 * network partition does; `refuse` resets every connection and every new one, as a stopped
 * database does; `reset()` resets every open connection once and keeps accepting new ones,
 * as a restarted database or a NAT that dropped its state does. Other tests' connections
 * to the shared Postgres are never touched.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let mode: ProxyMode = 'pass'
  const sockets = new Set<net.Socket>()
  // Both ends get the RST: the service sees ECONNRESET, Postgres ends the backend (and
  // rolls back whatever transaction it had open), as when the link itself breaks.
  const resetAll = () => {
    for (const socket of sockets) socket.resetAndDestroy()
  }
  const server = net.createServer((client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy()
      return
    }
    const upstream = net.connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined)
    }
    client.on('data', (chunk) => mode === 'pass' && upstream.write(chunk))
    upstream.on('data', (chunk) => mode === 'pass' && client.write(chunk))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    setMode(next: ProxyMode) {
      mode = next
      if (next === 'refuse') resetAll()
    },
    /** Resets every open connection, once; new connections pass as before. */
    reset: resetAll,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
