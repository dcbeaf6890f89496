import { createRequire } from 'node:module'
import fs from 'node:fs'
import type { Page } from 'playwright-core'
import type { AxeResults } from 'axe-core'

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * axe-core's serious and critical violations on the page as it is now, one line each.
 * axe is evaluated through the DevTools protocol, which our CSP (own scripts only, no
 * inline) does not govern; a <script> tag added to the page would be refused, and
 * bypassCSP would hide from the rest of the test whether the page works under its CSP.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource)
  const results = (await page.evaluate(() => (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as AxeResults
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)
}
