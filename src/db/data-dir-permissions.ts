import fs from 'node:fs'

/**
 * The embedded database holds every key hash and session of the service, so only its owner
 * may reach it. PGlite sets its own modes (files 0666, folders 0755, whatever the umask), so
 * the umask cannot help: the folder that holds them is made the owner's alone (0700), which
 * hides every file in it, whatever their modes, from everyone else. And DATA_DIR itself must
 * not be writable by others, or they could swap that folder or the lock file for their own.
 */
export class DataDirPermissionError extends Error {}

/** Refuses a DATA_DIR that its group or others may write; checked before anything is written to it. */
export function refuseSharedDataDir(dataDir: string): void {
  const mode = fs.statSync(dataDir).mode & 0o7777
  if ((mode & 0o022) !== 0) {
    throw new DataDirPermissionError(
      `DATA_DIR ${dataDir} is writable by ${mode & 0o002 ? 'others' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `the embedded database must be its owner's alone: chmod 700 ${dataDir}`,
    )
  }
}

/** Creates the folder if missing, and makes it (again: it may predate this check) its owner's alone. */
export function restrictToOwner(folder: string): void {
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 })
  fs.chmodSync(folder, 0o700)
}
