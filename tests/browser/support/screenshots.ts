import fs from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'

/**
 * The README's screenshots (docs/ at the repo root) when UPDATE_SCREENSHOTS=1; otherwise
 * tests/browser/screenshots/ (not committed), so every run leaves the views to look at.
 */
const folder = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../../../docs') : path.resolve(import.meta.dirname, '../screenshots')

/** The whole page; `fullPage: false` for a modal dialog, whose backdrop covers only the viewport. */
export async function saveScreenshot(page: Page, name: string, { fullPage = true } = {}): Promise<void> {
  fs.mkdirSync(folder, { recursive: true })
  await page.screenshot({ path: path.join(folder, `${name}.png`), fullPage })
}
