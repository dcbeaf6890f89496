// Usage: node scripts/lockfile-covers.cjs <wider package-lock.json> <narrower package-lock.json>
// Exits 0 when every package the narrower lockfile installs is in the wider one at the same
// place, version and integrity, so that an install of the wider one is also exactly the
// narrower one's install. .ci/run uses it to run the end-to-end suite (tests/integration) on
// the browser suite's install (tests/browser, the same @atproto/dev-env plus a browser
// driver) instead of compiling a second dev-env. Otherwise it lists what differs and exits 1.
// It also checks what `npm ci` would: that the narrower lockfile is in step with the
// package.json beside it (same declared dependencies), since that install is skipped.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const [widerPath, narrowerPath] = process.argv.slice(2)
if (!widerPath || !narrowerPath) {
  console.error('usage: lockfile-covers.cjs <wider package-lock.json> <narrower package-lock.json>')
  process.exit(2)
}
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const wider = readJson(widerPath).packages ?? {}
const narrower = readJson(narrowerPath).packages ?? {}
const manifest = readJson(path.join(path.dirname(narrowerPath), 'package.json'))

const differences = []
for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
  const declared = JSON.stringify(manifest[field] ?? {})
  if (declared !== JSON.stringify(narrower['']?.[field] ?? {})) {
    differences.push(`${field} of package.json and of the lockfile differ (run npm install there)`)
  }
}
for (const [location, wanted] of Object.entries(narrower)) {
  if (location === '') continue // the package itself: its name and own dependency list differ
  const found = wider[location]
  if (!found) differences.push(`${location}: missing`)
  else if (found.version !== wanted.version) differences.push(`${location}: ${found.version}, wanted ${wanted.version}`)
  else if (found.integrity !== wanted.integrity) differences.push(`${location}: another integrity`)
}
if (differences.length > 0) {
  console.error(`${widerPath} does not cover ${narrowerPath}:\n  ${differences.join('\n  ')}`)
  process.exit(1)
}
