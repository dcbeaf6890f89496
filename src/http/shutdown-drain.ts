import type { RequestHandler } from 'express'

/**
 * The drain that starts a graceful stop behind a balancer: for a while the instance tells
 * the balancer it is going (`/xrpc/_health` answers 503, see health.ts) while it still
 * serves every request, so the balancer stops sending it new ones before its listener
 * closes; a listener closed first would fail the requests already on their way to it.
 */
export class ShutdownDrain {
  private draining = false

  get active(): boolean {
    return this.draining
  }

  /**
   * During the drain every response says `Connection: close`: a client (the balancer's
   * pooled connections among them) keeping a connection alive would otherwise go on
   * sending on it until it is cut, and reconnects instead, to an instance that stays.
   */
  closeConnections(): RequestHandler {
    return (_req, res, next) => {
      if (this.draining) res.setHeader('Connection', 'close')
      next()
    }
  }

  /** Starts draining and resolves after `ms`, or at once when `skip` aborts (a second signal). */
  run(ms: number, skip?: AbortSignal): Promise<void> {
    this.draining = true
    if (skip?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        skip?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      skip?.addEventListener('abort', done, { once: true })
    })
  }
}
