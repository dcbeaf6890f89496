import { canRevoke, canRoll, keyStatus, scopesLabel, type ApiKeyView } from './keys.js'

/** What a row's buttons do; `opener` is the button, for the keyboard to return to after a dialog. */
export type RowActions = {
  rename: (key: ApiKeyView, opener: HTMLButtonElement) => void
  roll: (key: ApiKeyView, opener: HTMLButtonElement) => void
  revoke: (key: ApiKeyView) => void
  remove: (key: ApiKeyView, opener: HTMLButtonElement) => void
}

/** Times in the viewer's own locale and time zone. */
export const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** The table's columns, for the row that says the list is empty. */
const columnCount = 8

/** Replaces the table's rows with one per key (newest first, as the service lists them). */
export function renderKeyRows(body: HTMLTableSectionElement, keys: readonly ApiKeyView[], now: Date, actions: RowActions): void {
  body.replaceChildren(...(keys.length === 0 ? [emptyRow()] : keys.map((key) => keyRow(key, now, actions))))
}

/** Adds the rows of the next page below the ones shown. */
export function appendKeyRows(body: HTMLTableSectionElement, keys: readonly ApiKeyView[], now: Date, actions: RowActions): void {
  body.append(...keys.map((key) => keyRow(key, now, actions)))
}

/** Puts the key's row as it is now in place of its old one (after a rename). */
export function replaceKeyRow(body: HTMLTableSectionElement, key: ApiKeyView, now: Date, actions: RowActions): HTMLTableRowElement | undefined {
  const old = body.querySelector<HTMLTableRowElement>(`tr[data-key-id="${CSS.escape(key.id)}"]`)
  if (old === null) return undefined
  const row = keyRow(key, now, actions)
  old.replaceWith(row)
  return row
}

function keyRow(key: ApiKeyView, now: Date, actions: RowActions): HTMLTableRowElement {
  const row = document.createElement('tr')
  row.dataset.keyId = key.id
  const status = keyStatus(key, now)

  const name = document.createElement('th')
  name.scope = 'row'
  name.textContent = key.name
  const prefix = cell('prefix')
  const code = document.createElement('code')
  code.textContent = key.prefix
  prefix.append(code)
  const scopes = cell('scopes-cell')
  scopes.textContent = scopesLabel(key)

  const statusCell = cell('status-cell')
  const badge = document.createElement('span')
  badge.className = `status status-${status.toLowerCase()}`
  badge.textContent = status
  statusCell.append(badge)

  const buttons = document.createElement('div')
  buttons.className = 'row-actions'
  const rename = button('Rename', `Rename ${key.name}`, 'rename', () => actions.rename(key, rename))
  buttons.append(rename)
  if (canRoll(status)) {
    const roll = button('Roll', `Roll ${key.name}`, 'roll', () => actions.roll(key, roll))
    buttons.append(roll)
  }
  if (canRevoke(status)) buttons.append(button('Revoke', `Revoke ${key.name}`, 'revoke', () => actions.revoke(key)))
  const remove = button('Delete', `Delete ${key.name}`, 'delete', () => actions.remove(key, remove))
  buttons.append(remove)
  const actionsCell = cell('actions')
  actionsCell.append(buttons)

  row.append(
    name,
    prefix,
    scopes,
    timeCell(key.createdAt, ''),
    timeCell(key.lastUsedAt, 'Never'),
    timeCell(key.expiresAt, 'Never'),
    statusCell,
    actionsCell,
  )
  return row
}

function emptyRow(): HTMLTableRowElement {
  const row = document.createElement('tr')
  const only = cell('empty')
  only.colSpan = columnCount
  only.textContent = 'You have no API keys yet. Create one above.'
  row.append(only)
  return row
}

function timeCell(iso: string | undefined, absent: string): HTMLTableCellElement {
  const td = cell('time')
  if (iso === undefined) {
    td.textContent = absent
    return td
  }
  const time = document.createElement('time')
  time.dateTime = iso
  time.textContent = timeFormat.format(new Date(iso))
  td.append(time)
  return td
}

function button(text: string, label: string, kind: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button')
  b.type = 'button'
  b.className = `small ${kind}`
  b.textContent = text
  // The visible word plus the key's name: a screen reader's list of buttons says which key.
  b.setAttribute('aria-label', label)
  b.addEventListener('click', onClick)
  return b
}

function cell(className: string): HTMLTableCellElement {
  const td = document.createElement('td')
  td.className = className
  return td
}
