import { keyStatus, type ApiKeyView } from './keys.js'

export type RowActions = {
  revoke: (key: ApiKeyView) => void
  remove: (key: ApiKeyView, opener: HTMLButtonElement) => void
}

/** Times in the viewer's own locale and time zone. */
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** Replaces the table's rows with one per key (newest first, as the service lists them). */
export function renderKeyRows(body: HTMLTableSectionElement, keys: ApiKeyView[], now: Date, actions: RowActions): void {
  body.replaceChildren(...(keys.length === 0 ? [emptyRow()] : keys.map((key) => keyRow(key, now, actions))))
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

  const statusCell = cell('status-cell')
  const badge = document.createElement('span')
  badge.className = `status status-${status.toLowerCase()}`
  badge.textContent = status
  statusCell.append(badge)

  const buttons = cell('actions')
  if (status === 'Active') {
    buttons.append(button('Revoke', `Revoke ${key.name}`, 'revoke', () => actions.revoke(key)))
  }
  const remove = button('Delete', `Delete ${key.name}`, 'delete', () => actions.remove(key, remove))
  buttons.append(remove)

  row.append(name, prefix, timeCell(key.createdAt, ''), timeCell(key.lastUsedAt, 'Never'), timeCell(key.expiresAt, 'Never'), statusCell, buttons)
  return row
}

function emptyRow(): HTMLTableRowElement {
  const row = document.createElement('tr')
  const only = cell('empty')
  only.colSpan = 7
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
