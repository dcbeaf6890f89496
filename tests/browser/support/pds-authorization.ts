import type { Page } from 'playwright-core'

/**
 * On the PDS's own authorization pages (@atproto/oauth-provider's UI, reached through our
 * sign-in form): sign in with the password when asked, then approve the request. A PDS
 * that remembers the account in this browser skips the password step, so either step may
 * come first. Resolves once the browser is back on `returnedTo` (our page).
 */
export async function approveOnPds(
  page: Page,
  { password, rememberAccount = false }: { password: string; rememberAccount?: boolean },
  returnedTo: (url: URL) => boolean,
): Promise<void> {
  const passwordBox = page.getByRole('textbox', { name: 'Password' })
  const authorize = page.getByRole('button', { name: 'Authorize' })
  await passwordBox.or(authorize).first().waitFor()
  if (await passwordBox.isVisible()) {
    // The username is pre-filled from the DID our form sent as the login hint.
    await passwordBox.fill(password)
    if (rememberAccount) await page.getByRole('checkbox', { name: 'Remember this account on this device' }).check()
    await page.getByRole('button', { name: 'Sign in' }).click()
  }
  await authorize.click()
  // Not a /callback/ pattern: the PDS's own URL carries `%2Fcallback` inside client_id.
  await page.waitForURL(returnedTo).catch(async (error: Error) => {
    // Stuck on an error page (ours or the PDS's): say what it says.
    const text = (await page.locator('body').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 400)
    throw new Error(`not back on our page after approving: at ${page.url()} showing "${text}"`, { cause: error })
  })
}
