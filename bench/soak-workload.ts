// The soak's mixed workload: cycles of create, verify, list, revoke or delete, and checking
// that the key is then refused. Every response is checked against what the cycle expects.
import type { SoakAccount } from './soak-accounts.ts'
import type { CyclePacer } from './soak-pacer.ts'
import type { SoakRecorder } from './soak-recorder.ts'
import { callMethod } from './xrpc-call.ts'

/**
 * getSession with a key just revoked or deleted: 401 is the right answer, and it takes
 * another path than a live key (the cache has forgotten the key, so the database is read),
 * so its latency is reported on its own.
 */
const refusedKeyLabel = 'getSession (revoked or deleted: 401)'

type ApiKeyView = { id: string; did: string; prefix: string; revokedAt?: string; lastUsedAt?: string }
type CreatedKey = { key: ApiKeyView; secret: string }
type SessionView = { did: string; authType: string; keyId?: string }
type ErrorBody = { error?: string }

type Step<T> = {
  method: string
  /** How the step is reported; the method's name unless it is a special case of it. */
  label?: string
  secret: string
  input?: unknown
  status: number
  /** What is wrong with a body of the expected status, or undefined when it is right. */
  check?: (body: T, res: Response) => string | undefined
}

export class SoakWorkload {
  private readonly serverUrl: string
  private readonly recorder: SoakRecorder
  private readonly pacer: CyclePacer

  constructor(serverUrl: string, recorder: SoakRecorder, pacer: CyclePacer) {
    this.serverUrl = serverUrl
    this.recorder = recorder
    this.pacer = pacer
  }

  /** One worker: its own accounts in turn, one cycle at a time, until `signal` aborts. */
  async run(accounts: SoakAccount[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      for (const account of accounts) {
        if (!(await this.pacer.admit(account.did, signal)) || signal.aborted) return
        await this.cycle(account)
      }
    }
  }

  /**
   * Mint a key, verify it, verify the owner's, list (the new key shows its first use), then
   * revoke it (and delete it) or delete it outright, alternately, and check it is refused.
   * Each account ends every cycle with its owner key alone, so it never holds more than two
   * live keys, and the tables do not grow over the run.
   */
  private async cycle(account: SoakAccount): Promise<void> {
    const revokeFirst = account.cycles++ % 2 === 0
    const owner = account.ownerSecret
    const created = await this.step<CreatedKey>(account, {
      method: 'createApiKey',
      secret: owner,
      input: { name: `soak ${account.cycles}` },
      status: 200,
      check: (body, res) => {
        this.noteCreateRemaining(res)
        if (body.key.did !== account.did) return `minted for ${body.key.did}`
        return body.secret.startsWith(body.key.prefix) ? undefined : 'secret does not start with its prefix'
      },
    })
    if (!created) return
    const { key, secret } = created

    await this.step<SessionView>(account, {
      method: 'getSession',
      secret,
      status: 200,
      check: (body) => (body.did === account.did && body.keyId === key.id ? undefined : `answered ${JSON.stringify(body)}`),
    })
    await this.step<SessionView>(account, {
      method: 'getSession',
      secret: owner,
      status: 200,
      check: (body) => (body.keyId === account.ownerKeyId ? undefined : `answered ${JSON.stringify(body)}`),
    })
    await this.step<{ keys: ApiKeyView[] }>(account, {
      method: 'listApiKeys',
      secret,
      status: 200,
      check: ({ keys }) => {
        this.recorder.mostLiveKeys = Math.max(this.recorder.mostLiveKeys, keys.filter((k) => !k.revokedAt).length)
        const listed = keys.find((k) => k.id === key.id)
        if (!listed) return 'the new key is not listed'
        // Its first use (the getSession above) is written before that response is sent.
        return listed.lastUsedAt ? undefined : 'the new key is listed without lastUsedAt after its first use'
      },
    })

    const byId = { id: key.id }
    if (revokeFirst) {
      const revoked = await this.step<{ revoked: boolean }>(account, {
        method: 'revokeApiKey',
        secret: owner,
        input: byId,
        status: 200,
        check: (body) => (body.revoked ? undefined : 'revoked: false'),
      })
      if (revoked) await this.expectRefused(account, secret)
      await this.deleteKey(account, byId)
    } else {
      if (await this.deleteKey(account, byId)) await this.expectRefused(account, secret)
    }
  }

  private deleteKey(account: SoakAccount, byId: { id: string }) {
    return this.step<{ deleted: boolean }>(account, {
      method: 'deleteApiKey',
      secret: account.ownerSecret,
      input: byId,
      status: 200,
      check: (body) => (body.deleted ? undefined : 'deleted: false'),
    })
  }

  private expectRefused(account: SoakAccount, secret: string) {
    return this.step<ErrorBody>(account, {
      method: 'getSession',
      label: refusedKeyLabel,
      secret,
      status: 401,
      check: (body) => (body.error === 'AuthRequired' ? undefined : `error ${body.error}`),
    })
  }

  /** After the run: every account holds its owner key alone (nothing leaked, nothing lost). */
  async checkNothingLeft(accounts: SoakAccount[]): Promise<void> {
    for (const account of accounts) {
      await this.step<{ keys: ApiKeyView[] }>(account, {
        method: 'listApiKeys',
        label: 'listApiKeys (after the run)',
        secret: account.ownerSecret,
        status: 200,
        check: ({ keys }) =>
          keys.length === 1 && keys[0]?.id === account.ownerKeyId && !keys[0].revokedAt
            ? undefined
            : `${keys.length} keys left: ${keys.map((k) => k.id).join(', ')}`,
      })
    }
  }

  /**
   * One request, timed until its body is read, then checked. Returns the body when it is
   * what the cycle expects; otherwise records an error and returns undefined.
   */
  private async step<T>(account: SoakAccount, step: Step<T>): Promise<T | undefined> {
    const label = step.label ?? step.method
    const started = performance.now()
    let res: Response
    let text: string
    try {
      res = await callMethod(this.serverUrl, step.method, step.secret, {
        body: step.input,
        headers: { 'x-forwarded-for': account.clientAddress },
      })
      text = await res.text()
    } catch (err) {
      this.recorder.error(`${label}: network error`, (err as Error).message)
      return undefined
    }
    this.recorder.request(label, performance.now() - started)
    let body: T
    try {
      body = JSON.parse(text) as T
    } catch {
      this.recorder.error(`${label}: ${res.status}, not JSON`, text.slice(0, 200))
      return undefined
    }
    if (res.status !== step.status) {
      const kind = step.status === 401 && res.status === 200 ? 'a revoked or deleted key was accepted' : `${res.status} ${(body as ErrorBody).error ?? ''}`
      this.recorder.error(`${label}: ${kind}`, `${account.did}: ${text.slice(0, 200)}`)
      return undefined
    }
    const wrong = step.check?.(body, res)
    if (wrong !== undefined) {
      this.recorder.error(`${label}: unexpected answer`, `${account.did}: ${wrong}`)
      return undefined
    }
    return body
  }

  private noteCreateRemaining(res: Response): void {
    const header = res.headers.get('ratelimit-remaining')
    if (header === null) return
    const remaining = Number(header)
    this.recorder.lowestCreateRemaining = Math.min(this.recorder.lowestCreateRemaining ?? remaining, remaining)
  }
}
