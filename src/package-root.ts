import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

type PackageJson = { name?: string; version?: string }

/** The folder of this package's package.json (above src/ under tests, above dist/src/ when built). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = path.join(dir, 'package.json')
    if (fs.existsSync(candidate) && (JSON.parse(fs.readFileSync(candidate, 'utf8')) as PackageJson).name === 'cocore-account') {
      return dir
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('cannot find the cocore-account package.json')
    dir = parent
  }
}

export function readPackageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as PackageJson
  return pkg.version ?? '0.0.0'
}
