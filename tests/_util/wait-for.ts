/** Polls `check` every 10 ms until it holds; throws after `timeoutMs`, so a test waits for an event, never hangs on it. */
export async function waitFor(check: () => boolean | undefined | Promise<boolean | undefined>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
