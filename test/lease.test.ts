import { freshDatabase } from './helpers/db';
import { settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { reapDeadRuns, RunLease, sweepLeftovers } from '../src/engine/lease';
import { createStaging } from '../src/engine/staging';
import { sourceRegistry } from '../config/sources';

// Issue 13, item 2: a killed run is marked interrupted as soon as its process is gone (its lease,
// a session advisory lock, goes with it), and its staging and BAN shadow tables are dropped then,
// not by the next run after a 120 s stale heartbeat.

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

const tables = async (like: string) =>
  (
    await pool().query(
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and c.relname like $1 order by 1`,
      [like],
    )
  ).rows.map((r) => r.t as string);

const status = async (id: number) => (await pool().query(`select status, error from runs where id = $1`, [id])).rows[0];

test('a run whose session ends is reaped at once: interrupted, staging and shadow tables dropped', async () => {
  const lease = await RunLease.open(settings().DATABASE_URL, { source: 'ban', trigger: 'test', jobId: null, attempt: 1, options: {} });
  const id = lease.runId;
  await createStaging(pool(), 'ban', id, 'x', { a: 'text' }, { contract: false });
  await pool().query(`create table adresses_n${id}_35 (a int); create table adresses_n${id}_35_raw (a int)`);
  lease.beat({ read: 1 });

  // Alive: nothing reaped, even with a zero stale delay for unleased runs.
  expect(await reapDeadRuns(pool())).toEqual([]);
  expect((await status(id)).status).toBe('running');

  // The process dies: its session ends (what kill -9 does to the connection).
  await pool().query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dotation run ban pid ' || $1`, [
    process.pid,
  ]);
  await new Promise((r) => setTimeout(r, 300));
  const reaped = await reapDeadRuns(pool());
  expect(reaped).toEqual([{ id, source: 'ban' }]);
  expect(await status(id)).toEqual({
    status: 'interrupted',
    error: 'its process stopped or lost its database session during the run (lease released)',
  });
  expect(await tables(`%\\_${id}\\_%`)).toEqual([]);
  expect(await tables(`adresses_n${id}%`)).toEqual([]);
  expect(lease.lost).toBe(true);
  await lease.close();
});

test('a run without a lease (a pack fan-out) is still judged by its heartbeat', async () => {
  const {
    rows: [r],
  } = await pool().query(
    `insert into runs (source, status, heartbeat_at) values ('packs', 'running', now() - interval '10 minutes') returning id`,
  );
  const {
    rows: [fresh],
  } = await pool().query(`insert into runs (source, status) values ('packs', 'running') returning id`);
  const reaped = (await reapDeadRuns(pool())).map((x) => x.id);
  expect(reaped).toContain(Number(r.id));
  expect(reaped).not.toContain(Number(fresh.id));
  expect((await status(Number(r.id))).error).toBe('process stopped during the run (no heartbeat)');
});

test('the sweep drops the tables of finished runs that could not drop their own, never a running one', async () => {
  const {
    rows: [failed],
  } = await pool().query(`insert into runs (source, status) values ('populations', 'failed') returning id`);
  const live = await RunLease.open(settings().DATABASE_URL, { source: 'ban', trigger: 'test', jobId: null, attempt: 1, options: {} });
  await createStaging(pool(), 'populations', Number(failed.id), 'p', { a: 'text' }, { contract: false });
  await createStaging(pool(), 'ban', live.runId, 'x', { a: 'text' }, { contract: false });
  await pool().query(`create table adresses_n${failed.id}_35 (a int); create table adresses_n${live.runId}_35 (a int)`);
  // The BAN's shadow tables of a non-BAN run id are dropped too: the run is not running.
  expect(await sweepLeftovers(pool(), sourceRegistry())).toBe(1);
  expect(await tables(`populations\\_${failed.id}\\_%`)).toEqual([]);
  expect(await tables(`adresses_n${failed.id}%`)).toEqual([]);
  expect(await tables(`ban\\_${live.runId}\\_%`)).toEqual([`staging.ban_${live.runId}_x`]);
  expect(await tables(`adresses_n${live.runId}%`)).toEqual([`public.adresses_n${live.runId}_35`]);
  await live.close();
  await reapDeadRuns(pool());
  expect(await tables(`adresses_n${live.runId}%`)).toEqual([]);
});

test('one heartbeat at a time: a beat that outlasts the interval is not joined by another on the same session', async () => {
  const lease = await RunLease.open(settings().DATABASE_URL, { source: 'cog', trigger: 'test', jobId: null, attempt: 1, options: {} });
  try {
    // The lease's session held by a lock the test owns: the first beat waits on the runs row.
    const blocker = await pool().connect();
    await blocker.query('begin');
    await blocker.query(`select 1 from runs where id = $1 for update`, [lease.runId]);
    const client = (lease as unknown as { client: { query: (...a: unknown[]) => unknown } }).client;
    const sent: unknown[] = [];
    const original = client.query.bind(client);
    client.query = (...a: unknown[]) => {
      sent.push(a[0]);
      return original(...a);
    };
    lease.beat({ step: 1 });
    lease.beat({ step: 2 }); // the first is still waiting: skipped, not queued
    expect(sent).toHaveLength(1);
    await blocker.query('commit');
    blocker.release();
    // Once the first beat is through, the next one goes.
    await new Promise((r) => setTimeout(r, 200));
    lease.beat({ step: 3 });
    expect(sent).toHaveLength(2);
    expect(lease.lost).toBe(false);
    client.query = original;
  } finally {
    await lease.close();
  }
});
