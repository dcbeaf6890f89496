import { element } from './dom.js'
import { keyName, type ApiKeyView, type RolledKey } from './keys.js'
import { xrpcProcedure } from './xrpc.js'

/**
 * The Rename and Roll dialogs: modal forms over the key list. Enter saves, Escape (or
 * Cancel) closes without a call and the keyboard goes back to the button that opened it;
 * a failed call is a sentence inside the dialog, which stays open to try again.
 */

/** Runs one call (one at a time), showing a failure as a sentence where `showFailure` puts it. */
export type Run = (action: string, work: () => Promise<void>, showFailure: (sentence: string) => void) => Promise<void>

/** A dialog about one key: `submit` gets the key it was opened for. */
class KeyDialog {
  readonly dialog: HTMLDialogElement
  private readonly alert: HTMLElement
  private key: ApiKeyView | undefined
  private opener: HTMLElement | undefined
  private focusAfter: HTMLElement | undefined

  constructor(name: string, submit: (key: ApiKeyView) => void) {
    this.dialog = element<HTMLDialogElement>(`${name}-dialog`)
    this.alert = element(`${name}-alert`)
    const form = element<HTMLFormElement>(`${name}-form`)
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.showProblem('')
      if (this.key !== undefined) submit(this.key)
    })
    form.querySelector('[data-cancel]')?.addEventListener('click', () => this.dialog.close())
    // Escape closes a modal dialog by itself; either way the keyboard returns to where it was.
    this.dialog.addEventListener('close', () => {
      const target = this.focusAfter ?? this.opener
      this.opener = this.focusAfter = undefined
      target?.focus()
    })
  }

  open(key: ApiKeyView, opener: HTMLElement, first: HTMLElement): void {
    this.key = key
    this.opener = opener
    this.focusAfter = undefined
    this.showProblem('')
    this.dialog.showModal()
    first.focus()
  }

  showProblem(sentence: string): void {
    this.alert.textContent = sentence
  }

  /** Closes after a change, the keyboard going to `next` (the opener's row may be gone). */
  finish(next: HTMLElement): void {
    this.focusAfter = next
    this.dialog.close()
  }
}

/**
 * Rename: the name under createApiKey's rules; `renamed` puts the key's new row in place and
 * returns where the keyboard goes next.
 */
export function renameDialog(run: Run, renamed: (key: ApiKeyView) => HTMLElement): { open(key: ApiKeyView, opener: HTMLElement): void } {
  const name = element<HTMLInputElement>('rename-name')
  const heading = element<HTMLHeadingElement>('rename-heading')
  const form = new KeyDialog('rename', (key) => {
    const checked = keyName(name.value)
    if ('problem' in checked) {
      form.showProblem(checked.problem)
      name.setAttribute('aria-invalid', 'true')
      return name.focus()
    }
    name.removeAttribute('aria-invalid')
    void run(
      'rename the key',
      async () => {
        const { key: updated } = await xrpcProcedure<{ key: ApiKeyView }>('dev.cocore.account.updateApiKey', { id: key.id, name: checked.name })
        form.finish(renamed(updated))
      },
      (sentence) => {
        form.showProblem(sentence)
        name.focus()
      },
    )
  })
  return {
    open(key, opener) {
      heading.textContent = `Rename key ${key.name}`
      name.value = key.name
      name.removeAttribute('aria-invalid')
      form.open(key, opener, name)
      name.select()
    },
  }
}

/**
 * Roll: a new key with the same name and scopes, the old one working for the chosen grace
 * period (rollApiKey `graceSeconds`). `then.show` shows the new secret and returns where the
 * keyboard goes next; then `then.reload` brings the list up to date (its own call, so that a
 * failure to reload is not reported as a failed roll).
 */
export function rollDialog(
  run: Run,
  then: { show: (result: RolledKey) => HTMLElement; reload: () => Promise<void> },
): { open(key: ApiKeyView, opener: HTMLElement): void } {
  const heading = element<HTMLHeadingElement>('roll-heading')
  const now = element<HTMLInputElement>('grace-now')
  const dialogForm = element<HTMLFormElement>('roll-form')
  const form = new KeyDialog('roll', (key) => {
    const graceSeconds = Number(new FormData(dialogForm).get('grace') ?? 0)
    let done = false
    void run(
      'roll the key',
      async () => {
        const result = await xrpcProcedure<RolledKey>('dev.cocore.account.rollApiKey', { id: key.id, graceSeconds })
        form.finish(then.show(result))
        done = true
      },
      (sentence) => form.showProblem(sentence),
    ).then(() => (done ? then.reload() : undefined))
  })
  return {
    open(key, opener) {
      heading.textContent = `Roll key ${key.name}?`
      now.checked = true
      form.open(key, opener, now)
    },
  }
}
