import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core'

/** Debian's chromium package (.ci/run installs it): no browser download at test time. */
export const chromiumPath = '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // No sandbox: CI runs as root. The rest keeps Chromium off the network it was not
    // asked to reach (updates, sync, field trials).
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
}

/**
 * A fresh profile: no cookies and no account remembered by the PDS. English, because the
 * test finds the PDS's controls by their English names.
 */
export function freshContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ locale: 'en-US', viewport: { width: 1000, height: 720 }, ...options })
}
