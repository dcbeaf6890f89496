import type { ApiKeyView } from './keys.js'

/** One page of listApiKeys: `cursor` present while there may be more. */
export type KeyPage = { keys: ApiKeyView[]; cursor?: string }

/** How many keys a page holds: a long list loads in steps, never all at once. */
export const pageSize = 50

/**
 * The keys shown so far, page by page, newest first. The service pages on (createdAt, id),
 * so a key created while someone reads the list never shifts a later page: it is newer than
 * every key shown and appears when the first page is loaded again.
 */
export class KeyPages {
  private shown: ApiKeyView[] = []
  private cursor: string | undefined

  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<KeyPage>) {}

  get keys(): readonly ApiKeyView[] {
    return this.shown
  }

  /** Whether "Show more" has anything to fetch. */
  get hasMore(): boolean {
    return this.cursor !== undefined
  }

  /** Starts again from the newest key (after a change that may have touched any of them). */
  async first(): Promise<readonly ApiKeyView[]> {
    const page = await this.fetchPage(undefined)
    this.shown = page.keys
    this.cursor = page.cursor
    return this.shown
  }

  /** The next page, added below; returns only the keys it added. */
  async more(): Promise<readonly ApiKeyView[]> {
    if (this.cursor === undefined) return []
    const page = await this.fetchPage(this.cursor)
    this.shown = [...this.shown, ...page.keys]
    this.cursor = page.cursor
    return page.keys
  }

  /** The key as the service now returns it, in its place (after a rename). */
  replace(key: ApiKeyView): void {
    this.shown = this.shown.map((shown) => (shown.id === key.id ? key : shown))
  }
}
