import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import { takeBucketToken } from '../db/limit-buckets.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { Logger } from '../logger.js'
import { limitRowId } from './limit-store.js'
import { TokenBucket, TokenBuckets, takeFromAll, type BucketRate } from './token-bucket.js'
import { RateLimitedError } from './window-limiter.js'

/** Resolutions of issuers we hold no key for, from all clients: a burst, then a steady rate. */
const allClientsResolutions: BucketRate = { burst: 50, perSecond: 10 }
/** And from one client address (group): one flooding client leaves the rest to the others. */
const perClientResolutions: BucketRate = { burst: 10, perSecond: 1 }
const maxTrackedClients = 100_000
const refused = 'too many DID resolutions for service-auth tokens; retry shortly'

/**
 * Whether a client may make us resolve a service-auth issuer now (an outbound request an
 * anonymous caller can ask for): its own budget and the budget of all clients.
 */
export interface ResolutionBudgets {
  /** Returns when admitted (its share taken); throws a 429 RateLimitedError otherwise. */
  admit(clientAddress: string): void | Promise<void>
}

/** This instance's budgets: token buckets (a burst, then a steady rate), in memory. */
export class BucketResolutionBudgets implements ResolutionBudgets {
  private readonly allClients: TokenBucket
  private readonly perClient: TokenBuckets

  /** `now`: monotonic ms (a wall-clock step must neither stretch nor empty a bucket). */
  constructor(now: () => number) {
    this.allClients = new TokenBucket(allClientsResolutions, now)
    this.perClient = new TokenBuckets(perClientResolutions, maxTrackedClients, now)
  }

  admit(clientAddress: string): void {
    takeFromAll([this.perClient.of(clientAddress), this.allClients], refused)
  }
}

/**
 * The same buckets for the whole fleet (RATE_LIMIT_STORE=postgres), kept in the database
 * (src/db/limit-buckets.ts): each resolution takes its tokens there, in one statement per
 * bucket. Resolutions are few (ten a second in all); a refused client is answered from memory
 * until its bucket has a token again, so a flood costs no more statements than it is let
 * through. Should the database fail, this instance's own buckets decide until it answers.
 */
export class SharedResolutionBudgets implements ResolutionBudgets {
  private readonly refusedUntil = new LRUCache<string, number>({ max: maxTrackedClients })
  private readonly fallback: BucketResolutionBudgets
  private readonly logger: Logger
  private degraded = false

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.fallback = new BucketResolutionBudgets(now)
    this.logger = logger.child({ subsystem: 'limits' })
  }

  async admit(clientAddress: string): Promise<void> {
    const buckets = [
      { name: 'resolutions-per-client', key: clientAddress, ...perClientResolutions },
      { name: 'resolutions', key: '', ...allClientsResolutions },
    ]
    const now = this.now()
    // Refused from memory, nothing is taken (as takeFromAll takes nothing).
    for (const bucket of buckets) if ((this.refusedUntil.get(limitRowId(bucket)) ?? 0) > now) throw refusal(bucket)
    for (const bucket of buckets) {
      let tokensLeft: number | undefined
      try {
        tokensLeft = await takeBucketToken(this.db, bucket)
      } catch (err) {
        if (!this.degraded) this.logger.warn({ err: { message: (err as Error).message } }, 'could not take a resolution token from the database: this instance decides alone')
        this.degraded = true
        return this.fallback.admit(clientAddress)
      }
      this.degraded = false
      // A client refused by the budget of all clients has spent one of its own: a token is not given back.
      if (tokensLeft === undefined) {
        this.refusedUntil.set(limitRowId(bucket), now + 1000 / bucket.perSecond)
        throw refusal(bucket)
      }
    }
  }
}

/** Presented as the bucket's steady rate (`perSecond` per 1-second window), as TokenBucket does. */
function refusal(rate: BucketRate): RateLimitedError {
  return RateLimitedError.of(refused, { limited: true, limit: rate.perSecond, remaining: 0, resetSeconds: Math.ceil(1 / rate.perSecond) }, 1)
}
