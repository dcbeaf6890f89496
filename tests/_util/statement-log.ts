import { PGlite, type Transaction } from '@electric-sql/pglite'
import pg from 'pg'

type Statement = { connection: object; sql: string }

/**
 * Records every statement this process sends to the database, with the connection it went
 * on, by wrapping the drivers themselves: Kysely's plugins and its `log` option never see
 * BEGIN and COMMIT, and a round trip held under a lock is what this log is for.
 *
 * On Postgres each statement is one `pg.Client#query`. PGlite runs in the process: Kysely
 * runs a transaction as `PGlite#transaction(callback)`, whose `tx.query` carries each
 * statement, and PGlite sends COMMIT itself once the callback resolves (ROLLBACK once it
 * throws); those are recorded where PGlite sends them.
 *
 * Install before the server opens its database (pg binds `query` when it makes a client).
 */
export class StatementLog {
  private statements: Statement[] = []
  private readonly restores: (() => void)[] = []

  install(): this {
    const log = this.statements
    const record = (connection: object, sql: string) => void log.push({ connection, sql: sql.trim() })

    const pgQuery = pg.Client.prototype.query
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [text] = args
      record(this, typeof text === 'string' ? text : (text as { text: string }).text)
      return (pgQuery as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof pgQuery
    this.restores.push(() => (pg.Client.prototype.query = pgQuery))

    const transaction = PGlite.prototype.transaction
    PGlite.prototype.transaction = function <T>(this: PGlite, callback: (tx: Transaction) => Promise<T>) {
      return transaction.call(this, async (tx: Transaction) => {
        const connection = {}
        record(connection, 'begin')
        const recorded: Transaction = {
          ...tx,
          query: (sql, ...rest) => {
            record(connection, sql)
            return tx.query(sql, ...rest)
          },
        }
        try {
          const result = await callback(recorded)
          record(connection, 'commit')
          return result
        } catch (err) {
          record(connection, 'rollback')
          throw err
        }
      }) as Promise<T>
    }
    this.restores.push(() => (PGlite.prototype.transaction = transaction))
    return this
  }

  uninstall(): void {
    for (const restore of this.restores.splice(0).reverse()) restore()
  }

  clear(): void {
    this.statements.length = 0
  }

  /**
   * The statements of the transaction that took an account lock since the last clear(), from
   * the lock through its COMMIT, in order; throws unless exactly one transaction took one.
   */
  fromAccountLockToCommit(): string[] {
    const locks = this.statements.filter((statement) => statement.sql.includes('pg_advisory_xact_lock'))
    if (locks.length !== 1) throw new Error(`expected one account lock, saw ${locks.length}`)
    const lock = locks[0]!
    const after = this.statements.slice(this.statements.indexOf(lock)).filter((statement) => statement.connection === lock.connection)
    const end = after.findIndex((statement) => /^commit\b/i.test(statement.sql))
    if (end === -1) throw new Error('the transaction that took the lock has not committed')
    return after.slice(0, end + 1).map((statement) => statement.sql)
  }
}
