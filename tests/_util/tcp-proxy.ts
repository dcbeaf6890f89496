import net from 'node:net'

export type ProxyMode = 'pass' | 'blackhole' | 'refuse'

/**
 * A TCP proxy between the service and Postgres that a test can break: `blackhole` swallows
 * every byte in either direction while the sockets stay open (no FIN, no RST), as a silent
 * network partition does; `refuse` resets every connection and every new one, as a stopped
 * database does. Other tests' connections to the shared Postgres are never touched.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let mode: ProxyMode = 'pass'
  const sockets = new Set<net.Socket>()
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
      if (next === 'refuse') for (const socket of sockets) socket.resetAndDestroy()
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
