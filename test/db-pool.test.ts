import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';

// Issue 13, probe item 2: a PostgreSQL restart during a job killed the worker process with an
// unhandled 'error' on a checked-out client. Every checked-out client now has a listener: the
// work in progress fails, the process lives on, the pool discards the dead client.

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

async function terminate(pid: number): Promise<void> {
  await pool().query('select pg_terminate_backend($1)', [pid]);
}

test('a checked-out client whose backend is terminated while idle does not kill the process', async () => {
  const errors: Error[] = [];
  const client = await pool().connect();
  const {
    rows: [{ pid }],
  } = await client.query('select pg_backend_pid() as pid');
  client.on('error', (e) => errors.push(e)); // only to observe: the pool's own listener is what keeps the process alive
  await terminate(pid);
  await new Promise((r) => setTimeout(r, 500));
  expect(errors.length).toBeGreaterThan(0);
  await expect(client.query('select 1')).rejects.toThrow(/not queryable|terminat/i);
  client.release();
  // The pool hands out a live client again.
  expect((await pool().query('select 1 as ok')).rows[0].ok).toBe(1);
});

test('a query in progress fails with the connection, and the client is discarded on release', async () => {
  const client = await pool().connect();
  const {
    rows: [{ pid }],
  } = await client.query('select pg_backend_pid() as pid');
  const slow = client.query('select pg_sleep(30)');
  await new Promise((r) => setTimeout(r, 200));
  await terminate(pid);
  await expect(slow).rejects.toThrow(/terminat/i);
  client.release();
  const again = await pool().connect();
  const {
    rows: [{ pid: other }],
  } = await again.query('select pg_backend_pid() as pid');
  again.release();
  expect(other).not.toBe(pid);
});
