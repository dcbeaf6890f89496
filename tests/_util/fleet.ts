import { startServeProcess, type ServeProcess } from './cli.js'
import { startHaproxy, type RunningHaproxy } from './haproxy.js'
import { freePort, startPgbouncer, type RunningPgbouncer } from './pgbouncer.js'
import { waitFor } from './wait-for.js'

/** One `serve` process of the fleet, on a port of its own that it keeps across restarts. */
export type FleetInstance = {
  /** Its server name in the balancer's configuration (`instance1`, …). */
  name: string
  port: number
  /** Its own address, past the balancer. */
  url: string
  /** The running process (replaced by `restart`). */
  process: ServeProcess
}

export type Fleet = {
  /** The balancer's address: where clients send their requests. */
  url: string
  instances: FleetInstance[]
  pgbouncer: RunningPgbouncer
  haproxy: RunningHaproxy
  /** Starts an instance that has exited again on its port; resolves once the balancer routes to it. */
  restart(instance: FleetInstance): Promise<void>
  /** Resolves once the balancer's checks see the instance in `state` (`UP`, `DOWN`). */
  waitForBalancer(instance: FleetInstance, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export type FleetOptions = {
  size?: number
  /** Seconds each instance drains on SIGTERM (SHUTDOWN_DRAIN_SECONDS). */
  drainSeconds?: number
  /** How often the balancer checks `/xrpc/_health`. */
  checkMs?: number
  /** More environment for every instance (limits, cache settings, …). */
  env?: Record<string, string>
}

/**
 * The production topology issue 15 describes, as processes on loopback (deploy/compose.yaml
 * is the same in containers): PgBouncer in transaction mode in front of the Postgres that
 * `databaseUrl` names; `size` instances of `cocore-account serve` with DATABASE_URL through
 * PgBouncer and DATABASE_LISTEN_URL direct (LISTEN needs a session of its own); HAProxy in
 * front, round-robin, checking `/xrpc/_health`, and trusted (TRUST_PROXY) to name the
 * client's address. Each instance listens on a port chosen here, so that a restarted one
 * comes back where the balancer's configuration expects it.
 */
export async function startFleet(databaseUrl: string, opts: FleetOptions = {}): Promise<Fleet> {
  const size = opts.size ?? 3
  const checkMs = opts.checkMs ?? 200
  const pgbouncer = await startPgbouncer(databaseUrl)
  const env = {
    DATABASE_URL: pgbouncer.urlFor(databaseUrl),
    DATABASE_LISTEN_URL: databaseUrl,
    TRUST_PROXY: 'loopback',
    // Ten health checks and more: on a loaded CI machine the balancer's check can lag a second.
    SHUTDOWN_DRAIN_SECONDS: String(opts.drainSeconds ?? 2.5),
    ...opts.env,
  }
  const instances: FleetInstance[] = []
  const startInstance = (port: number) => startServeProcess({ ...env, PORT: String(port) })
  let haproxy: RunningHaproxy | undefined
  try {
    const ports: number[] = []
    for (let i = 0; i < size; i++) ports.push(await freePort())
    const processes = await Promise.all(ports.map(startInstance))
    processes.forEach((process, i) => {
      const port = ports[i]!
      instances.push({ name: `instance${i + 1}`, port, url: `http://127.0.0.1:${port}`, process })
    })
    haproxy = await startHaproxy(ports, { checkMs })
  } catch (err) {
    await Promise.all(instances.map((instance) => instance.process.stop()))
    await pgbouncer.stop()
    throw err
  }
  const balancer = haproxy
  const waitForBalancer = (instance: FleetInstance, state: 'UP' | 'DOWN', timeoutMs = 10 * checkMs + 2_000) =>
    waitFor(async () => (await balancer.serverStates()).get(instance.name) === state, timeoutMs)
  await Promise.all(instances.map((instance) => waitForBalancer(instance, 'UP')))

  return {
    url: balancer.url,
    instances,
    pgbouncer,
    haproxy: balancer,
    waitForBalancer,
    async restart(instance) {
      instance.process = await startInstance(instance.port)
      await waitForBalancer(instance, 'UP')
    },
    async stop() {
      await balancer.stop()
      // In parallel: the drains overlap (an instance that has exited resolves at once).
      await Promise.all(instances.map((instance) => instance.process.stop()))
      await pgbouncer.stop()
    },
  }
}
