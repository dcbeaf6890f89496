import net from 'node:net'

export type ProxyMode = 'pass' | 'blackhole'

/**
 * A TCP proxy between the service and Postgres that a test can turn into a silent network
 * partition: in `blackhole` mode every byte in either direction is swallowed while the
 * sockets stay open (no FIN, no RST), as when a network drops packets.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let mode: ProxyMode = 'pass'
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
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
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
