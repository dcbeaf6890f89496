import { renderKeyRows } from './key-table.js'
import { newKeyInput, type ApiKeyView } from './keys.js'
import { failureSentence, unexpectedSentence } from './messages.js'
import { XrpcFailure, xrpcProcedure, xrpcQuery } from './xrpc.js'

/**
 * The console: who is signed in, their keys, and the four key methods. Signed out (getSession
 * answers 401), the sign-in form, which posts to /oauth/login and leaves the page.
 */

type Session = { did: string; authType: string; handle?: string }
type CreatedKey = { key: ApiKeyView; secret: string }

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

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
  newSecret: element<HTMLDivElement>('new-secret'),
  newSecretName: element<HTMLElement>('new-secret-name'),
  secret: element<HTMLInputElement>('secret'),
  copy: element<HTMLButtonElement>('copy'),
  copyStatus: element<HTMLParagraphElement>('copy-status'),
  keysTable: element<HTMLTableElement>('keys-table'),
  keyRows: element<HTMLTableSectionElement>('key-rows'),
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
function report(err: unknown, action: string): void {
  if (err instanceof XrpcFailure) {
    if (err.status === 401) return showSignedOut(signedIn ? 'Your session has ended. Sign in again to continue.' : undefined)
    return showAlert(failureSentence(err, action))
  }
  showAlert(unexpectedSentence(action))
}

/** Runs one call at a time: a second click while one is in flight is ignored. */
async function once(action: string, work: () => Promise<void>): Promise<void> {
  if (busy) return
  busy = true
  clearMessages()
  try {
    await work()
  } catch (err) {
    report(err, action)
  } finally {
    busy = false
  }
}

async function refreshKeys(): Promise<void> {
  const { keys } = await xrpcQuery<{ keys: ApiKeyView[] }>('dev.cocore.account.listApiKeys')
  renderKeyRows(view.keyRows, keys, new Date(), { revoke, remove: confirmDelete })
}

function revoke(key: ApiKeyView): void {
  void once('revoke the key', async () => {
    await xrpcProcedure('dev.cocore.account.revokeApiKey', { id: key.id })
    await refreshKeys()
    view.status.textContent = `Key “${key.name}” revoked: it no longer works.`
    // Its Revoke button is gone; keep the keyboard on the same row.
    view.keyRows.querySelector<HTMLButtonElement>(`tr[data-key-id="${CSS.escape(key.id)}"] button.delete`)?.focus()
  })
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

view.createForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const checked = newKeyInput(view.keyName.value, view.keyExpiry.value, new Date())
  if ('problem' in checked) {
    clearMessages()
    showAlert(checked.problem)
    return (checked.field === 'name' ? view.keyName : view.keyExpiry).focus()
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
    report(err, signedIn ? 'load your keys' : 'check whether you are signed in')
  }
}

void start()
