import { Pool, PoolClient, types } from 'pg';
import { settings } from '../../config/settings';
import { logTo } from '../log';

// bigint counts (COUNT(*), SUM of integers) come back as JS numbers: our counts stay far below 2^53.
types.setTypeParser(20, (v) => Number(v));
// numeric stays a string: amounts must not lose precision on the way to the CSV.

const pools = new Map<string, Pool>();

/** One pool per database URL for the whole process. */
export function pool(url = settings().DATABASE_URL): Pool {
  let p = pools.get(url);
  if (!p) {
    p = new Pool({ connectionString: url, max: 8, application_name: 'dotation' });
    p.on('error', (err) => logTo('db', 'error')(`idle database client error: ${err.message}`));
    pools.set(url, p);
  }
  return p;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end()));
}

/** Runs `fn` in one transaction: committed if it resolves, rolled back otherwise. */
export async function transaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Quotes an SQL identifier (table or column built from a name we control). */
export function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
