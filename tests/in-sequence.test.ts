import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { describe, expect, it } from 'vitest'
import { inSequence } from '../src/http/in-sequence.js'

const req = {} as Request
const res = {} as Response

describe('inSequence', () => {
  it('runs every handler in order, then the next layer', () => {
    const ran: string[] = []
    const handler =
      (name: string): RequestHandler =>
      (_req, _res, next) => {
        ran.push(name)
        next()
      }
    const nextCalls: unknown[][] = []
    inSequence(handler('a'), handler('b'), handler('c'))(req, res, ((...args: unknown[]) => nextCalls.push(args)) as NextFunction)
    expect(ran).toEqual(['a', 'b', 'c'])
    expect(nextCalls).toEqual([[]])
  })

  it('stops at a handler that answers, and never calls the next layer', () => {
    const ran: string[] = []
    let nextCalled = false
    inSequence(
      () => ran.push('answers'),
      () => ran.push('never'),
    )(req, res, (() => (nextCalled = true)) as NextFunction)
    expect(ran).toEqual(['answers'])
    expect(nextCalled).toBe(false)
  })

  it("passes a handler's error to Express's error handlers and runs nothing after it", () => {
    const failure = new Error('refused')
    const ran: string[] = []
    const nextCalls: unknown[][] = []
    inSequence(
      (_req, _res, next) => next(failure),
      () => ran.push('never'),
    )(req, res, ((...args: unknown[]) => nextCalls.push(args)) as NextFunction)
    expect(nextCalls).toEqual([[failure]])
    expect(ran).toEqual([])
  })
})
