#!/usr/bin/env node
// Entry point of the `cocore-account` command. It only checks the Node version, then loads
// the CLI: every @atproto/* package needs Node >= 22.15 and some crash on import under an
// older one, so the check must run before any of them is imported.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(
    `cocore-account: needs Node >= 22.15 but runs on ${process.version}; ` +
      'start it through npm (npm start, npx cocore-account) so the project\'s Node 22 is used\n',
  )
  process.exit(1)
}
const { main } = await import('./main.js')
process.exitCode = await main(process.argv.slice(2), process.env)
