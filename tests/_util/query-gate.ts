import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

/**
 * A Kysely plugin that counts queries and can hold a query's result back until released:
 * it forces the interleavings a cache must survive (a revocation landing while a read of
 * the same key is in flight).
 */
export class QueryGate implements KyselyPlugin {
  queries = 0
  private held: { reached: () => void; release: Promise<void> } | undefined

  /** Holds the next query's result; resolves `reached` once a query is held, until `release()`. */
  holdNext(): { reached: Promise<void>; release: () => void } {
    let release!: () => void
    let reached!: () => void
    const releasePromise = new Promise<void>((resolve) => (release = resolve))
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve))
    this.held = { reached, release: releasePromise }
    return { reached: reachedPromise, release }
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.queries++
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const held = this.held
    if (held) {
      this.held = undefined
      held.reached()
      await held.release
    }
    return args.result
  }
}
