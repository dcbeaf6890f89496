import type { NextFunction, Request, RequestHandler, Response } from 'express'

/**
 * Runs `handlers` one after the other as one Express middleware: each Express layer costs
 * every request a dispatch of its own (its path match, its `next`), so the few handlers every
 * request passes are mounted as one. A handler that answers (does not call `next`) ends the
 * sequence; an error passed to `next` goes to Express's error handlers, as from any layer.
 */
export function inSequence(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0
    const step = (err?: unknown): void => {
      if (err !== undefined) return next(err)
      const handler = handlers[index++]
      if (handler === undefined) return next()
      handler(req, res, step)
    }
    step()
  }
}
