import { element } from './dom.js'
import { renameDialog, rollDialog } from './key-dialogs.js'
import { KeyPages, pageSize, type KeyPage } from './key-pages.js'
import { appendKeyRows, renderKeyRows, replaceKeyRow, timeFormat, type RowActions } from './key-table.js'
import { knownScopes, newKeyInput, type ApiKeyView, type Scope } from './keys.js'
import { failureSentence, unexpectedSentence } from './messages.js'
import { XrpcFailure, xrpcProcedure, xrpcQuery } from './xrpc.js'

/**
 * The console: who is signed in, their keys (a page at a time), and the key methods. Signed
 * out (getSession answers 401), the sign-in form, which posts to /oauth/login and leaves the page.
 */

type Session = { did: string; authType: string; handle?: string }
type CreatedKey = { key: ApiKeyView; secret: string }

const view = {
  loading: element<HTMLParagraphElement>('loading'),
  alert: element<HTMLDivElement>('alert'),
  status: element<HTMLParagraphElement>('status'),
  signedOut: element<HTMLElement>('signed-out'),
  handleInput: element<HTMLInputElement>('handle'),
  signedIn: element<HTMLElement>('signed-in'),
  handleRow: element<HTMLDivElement>('who-handle-row'),
  handle: element<HTMLElement>('who-handle'),
  did: element<HTMLElement>('who-did'),
  createForm: element<HTMLFormElement>('create-form'),
  keyName: element<HTMLInputElement>('key-name'),
  keyExpiry: element<HTMLInputElement>('key-expires'),
  keyScopes: element<HTMLFieldSetElement>('key-scopes'),
  newSecret: element<HTMLDivElement>('new-secret'),
  newSecretName: element<HTMLElement>('new-secret-name'),
  newSecretReplaces: element<HTMLParagraphElement>('new-secret-replaces'),
  secret: element<HTMLInputElement>('secret'),
  copy: element<HTMLButtonElement>('copy'),
  copyStatus: element<HTMLParagraphElement>('copy-status'),
  keysTable: element<HTMLTableElement>('keys-table'),
  keyRows: element<HTMLTableSectionElement>('key-rows'),
  showMore: element<HTMLButtonElement>('show-more'),
  deleteDialog: element<HTMLDialogElement>('delete-dialog'),
  deleteQuestion: element<HTMLHeadingElement>('delete-question'),
}

let signedIn = false
let busy = false

function showAlert(sentence: string): void {
  view.alert.textContent = sentence
}

function clearMessages(): void {
  view.alert.textContent = ''
  view.status.textContent = ''
}

function showSignedOut(sentence?: string): void {
  signedIn = false
  view.loading.hidden = true
  view.signedIn.hidden = true
  view.signedOut.hidden = false
  hideSecret()
  // A dialog left open would keep the page behind it inert.
  for (const open of document.querySelectorAll<HTMLDialogElement>('dialog[open]')) open.close()
  if (sentence === undefined) return
  showAlert(sentence)
  // The control that was in use is gone; the keyboard goes where the next step is.
  view.handleInput.focus()
}

function showSignedIn(session: Session): void {
  signedIn = true
  view.loading.hidden = true
  view.signedOut.hidden = true
  view.signedIn.hidden = false
  view.handleRow.hidden = session.handle === undefined
  view.handle.textContent = session.handle ?? ''
  view.did.textContent = session.did
}

/** A failed call as a sentence; a 401 means the session ended (expired, signed out elsewhere). */
function report(err: unknown, action: string, showFailure: (sentence: string) => void): void {
  if (err instanceof XrpcFailure) {
    if (err.status === 401) return showSignedOut(signedIn ? 'Your session has ended. Sign in again to continue.' : undefined)
    return showFailure(failureSentence(err, action))
  }
  showFailure(unexpectedSentence(action))
}

/** Runs one call at a time: a second click while one is in flight is ignored. */
async function once(action: string, work: () => Promise<void>, showFailure: (sentence: string) => void = showAlert): Promise<void> {
  if (busy) return
  busy = true
  clearMessages()
  try {
    await work()
  } catch (err) {
    report(err, action, showFailure)
  } finally {
    busy = false
  }
}

const pages = new KeyPages((cursor) => xrpcQuery<KeyPage>('dev.cocore.account.listApiKeys', { limit: pageSize, cursor }))
const rowActions: RowActions = {
  rename: (key, opener) => rename.open(key, opener),
  roll: (key, opener) => roll.open(key, opener),
  revoke,
  remove: confirmDelete,
}

/** The first page again: after a change, the newest keys are where it shows. */
async function refreshKeys(): Promise<void> {
  renderKeyRows(view.keyRows, await pages.first(), new Date(), rowActions)
  view.showMore.hidden = !pages.hasMore
}

view.showMore.addEventListener('click', () => {
  void once('show more keys', async () => {
    appendKeyRows(view.keyRows, await pages.more(), new Date(), rowActions)
    view.showMore.hidden = !pages.hasMore
    view.status.textContent = pages.hasMore ? `Showing the newest ${pages.keys.length} keys.` : `Showing all ${pages.keys.length} keys.`
    // The button is gone after the last page; the keyboard stays in the list.
    if (!pages.hasMore) view.keysTable.focus()
  })
})

function revoke(key: ApiKeyView): void {
  void once('revoke the key', async () => {
    await xrpcProcedure('dev.cocore.account.revokeApiKey', { id: key.id })
    await refreshKeys()
    view.status.textContent = `Key “${key.name}” revoked: it no longer works.`
    // Its Revoke button is gone; keep the keyboard on the same row (if it is still on the first page).
    const sameRow = view.keyRows.querySelector<HTMLButtonElement>(`tr[data-key-id="${CSS.escape(key.id)}"] button.delete`)
    if (sameRow !== null) sameRow.focus()
    else view.keysTable.focus()
  })
}

const rename = renameDialog(once, (key) => {
  pages.replace(key)
  const row = replaceKeyRow(view.keyRows, key, new Date(), rowActions)
  view.status.textContent = `Key renamed to “${key.name}”.`
  return row?.querySelector<HTMLButtonElement>('button.rename') ?? view.keysTable
})

const roll = rollDialog(once, {
  show: (rolled) => {
    showSecret(rolled)
    view.newSecretReplaces.textContent = replacedSentence(rolled.previous, new Date())
    view.newSecretReplaces.hidden = false
    return view.secret
  },
  reload: () => once('load your keys', refreshKeys),
})

/** What became of the rolled key: it stopped, or it works until its grace period ends. */
function replacedSentence(previous: ApiKeyView, now: Date): string {
  const prefix = `It replaces the key ${previous.prefix}…`
  if (previous.expiresAt === undefined || Date.parse(previous.expiresAt) <= now.getTime()) return `${prefix}, which has stopped working.`
  return `${prefix}, which keeps working until ${timeFormat.format(new Date(previous.expiresAt))}.`
}

let pendingDelete: { key: ApiKeyView; opener: HTMLButtonElement } | undefined

function confirmDelete(key: ApiKeyView, opener: HTMLButtonElement): void {
  pendingDelete = { key, opener }
  view.deleteQuestion.textContent = `Delete key ${key.name}?`
  view.deleteDialog.returnValue = ''
  view.deleteDialog.showModal()
}

view.deleteDialog.addEventListener('close', () => {
  const pending = pendingDelete
  pendingDelete = undefined
  if (pending === undefined) return
  if (view.deleteDialog.returnValue !== 'delete') return pending.opener.focus()
  void once('delete the key', async () => {
    await xrpcProcedure('dev.cocore.account.deleteApiKey', { id: pending.key.id })
    await refreshKeys()
    view.status.textContent = `Key “${pending.key.name}” deleted.`
    view.keysTable.focus()
  })
})

/** The ticked scope boxes. */
function tickedScopes(): Scope[] {
  const ticked = [...view.keyScopes.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')].map((box) => box.value)
  return knownScopes.filter((scope) => ticked.includes(scope))
}

view.createForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const checked = newKeyInput(view.keyName.value, view.keyExpiry.value, tickedScopes(), new Date())
  if ('problem' in checked) {
    clearMessages()
    showAlert(checked.problem)
    const field = { name: view.keyName, expiry: view.keyExpiry, scopes: view.keyScopes.querySelector('input') ?? view.keyName }[checked.field]
    return field.focus()
  }
  void once('create the key', async () => {
    const created = await xrpcProcedure<CreatedKey>('dev.cocore.account.createApiKey', checked.input)
    view.createForm.reset()
    showSecret(created)
    await refreshKeys()
  })
})

function showSecret({ key, secret }: CreatedKey): void {
  view.newSecretName.textContent = key.name
  view.newSecretReplaces.hidden = true
  view.secret.value = secret
  view.copyStatus.textContent = ''
  view.newSecret.hidden = false
  view.secret.focus()
  view.secret.select()
}

function hideSecret(): void {
  view.secret.value = ''
  view.newSecret.hidden = true
}

view.secret.addEventListener('focus', () => view.secret.select())

view.copy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(view.secret.value)
    view.copyStatus.textContent = 'Copied to the clipboard.'
  } catch {
    view.copyStatus.textContent = 'Copying did not work in this browser; select the secret in the box and copy it yourself.'
    view.secret.focus()
  }
})

async function start(): Promise<void> {
  try {
    showSignedIn(await xrpcQuery<Session>('dev.cocore.account.getSession'))
    await refreshKeys()
  } catch (err) {
    view.loading.hidden = true
    report(err, signedIn ? 'load your keys' : 'check whether you are signed in', showAlert)
  }
}

void start()
