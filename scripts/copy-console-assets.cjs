// Part of `npm run build`: the console's static files (everything in console/ that tsc does
// not compile) go beside its compiled scripts in dist/console/, which the server serves.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const source = path.join(__dirname, '..', 'console')
const target = path.join(__dirname, '..', 'dist', 'console')
fs.mkdirSync(target, { recursive: true })
for (const file of fs.readdirSync(source)) {
  if (file.endsWith('.ts') || file === 'tsconfig.json') continue
  fs.copyFileSync(path.join(source, file), path.join(target, file))
}
