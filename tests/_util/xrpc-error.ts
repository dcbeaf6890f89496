import { XRPCError } from '@atproto/xrpc'
import { expect } from 'vitest'

/** Awaits a client call that must fail, and returns the XRPC error (status and name) it failed with. */
export async function xrpcFailure(call: Promise<unknown>): Promise<{ status: number; error: string; message: string }> {
  const err = await call.then(
    () => expect.unreachable('the call succeeded'),
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(XRPCError)
  const { status, error, message } = err as XRPCError
  return { status, error, message }
}
