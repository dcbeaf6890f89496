import pg from 'pg'

/** createApiKey's answer, as far as the stream tests read it. */
export type CreatedKey = { key: { id: string; did: string; name: string }; secret: string }

/**
 * The keys of `dids` as stored, read straight from Postgres (past any proxy or pooler the
 * service goes through); the accounts' owner keys left out.
 */
export async function storedKeysOf(databaseUrl: string, dids: string[]): Promise<{ id: string; did: string; name: string }[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ id: string; did: string; name: string }>(
      "select id, did, name from api_key where did = any($1) and name <> 'owner'",
      [dids],
    )
    return rows
  } finally {
    await client.end()
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
}
