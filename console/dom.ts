/** The page's element with this id; the page and the script ship together, so a missing one is a bug. */
export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}
