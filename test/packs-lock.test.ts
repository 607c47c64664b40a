import { freshDatabase } from './helpers/db';
import { settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { inlineBuildHolder, withInlineBuildLock } from '../src/packs/lock';
import { closePacksQueue, enqueuePacksBuild, PacksBuildActiveError, packsQueue } from '../src/queue/packs';
import { closeQueues, runsQueue } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

// One pack build writing PACKS_DIR at a time: inline builds (CLI, `dotation start`) hold a
// PostgreSQL advisory lock; a second inline build waits, a fan-out is refused meanwhile, and an
// inline build waits for a fan-out that is building.
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
  expect(settings().QUEUE_PREFIX).toMatch(/^dotation-test-/);
});
afterAll(async () => {
  await packsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closePacksQueue();
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

test('a second inline build waits for the first; a fan-out is refused while one runs, accepted after', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const order: string[] = [];
  const logs: string[] = [];
  const first = withInlineBuildLock(
    pool(),
    (m) => logs.push(m),
    async () => {
      order.push('first starts');
      await held;
      order.push('first ends');
    },
  );
  while (!order.length) await new Promise((r) => setTimeout(r, 10));

  const holder = await inlineBuildHolder(pool());
  expect(holder).not.toBeNull();
  expect(holder!.pid).toBeGreaterThan(0);

  const second = withInlineBuildLock(
    pool(),
    (m) => logs.push(m),
    async () => {
      order.push('second runs');
    },
  );
  await expect(enqueuePacksBuild({ departements: ['2A'], trigger: 'test' })).rejects.toThrow(PacksBuildActiveError);
  await expect(enqueuePacksBuild({ departements: ['2A'], trigger: 'test' })).rejects.toThrow(
    /a pack build is running in another process \(database session \d+/,
  );
  while (!logs.length) await new Promise((r) => setTimeout(r, 10));
  expect(logs[0]).toMatch(/another pack build is running .*waiting for it to end/);
  expect(order).toEqual(['first starts']);

  release();
  await Promise.all([first, second]);
  expect(order).toEqual(['first starts', 'first ends', 'second runs']);
  expect(await inlineBuildHolder(pool())).toBeNull();
  const b = await enqueuePacksBuild({ departements: ['2A'], trigger: 'test' });
  expect(b.departements).toEqual(['2A']);
});

test('an inline build waits while a fan-out is building (fresh heartbeat), not for a stale one', async () => {
  const {
    rows: [run],
  } = await pool().query(`insert into runs (source, status, trigger) values ('packs', 'running', 'worker') returning id`);
  const logs: string[] = [];
  let ran = false;
  const inline = withInlineBuildLock(
    pool(),
    (m) => logs.push(m),
    async () => {
      ran = true;
    },
    { pollMs: 20 },
  );
  while (!logs.length) await new Promise((r) => setTimeout(r, 10));
  expect(logs[0]).toContain(`a fan-out pack build is running (run ${run.id}`);
  await new Promise((r) => setTimeout(r, 100));
  expect(ran).toBe(false);
  await pool().query(`update runs set status = 'succeeded', finished_at = now() where id = $1`, [run.id]);
  await inline;
  expect(ran).toBe(true);
  // A run left 'running' by a dead process (no heartbeat for a minute) does not block.
  await pool().query(
    `insert into runs (source, status, trigger, heartbeat_at) values ('packs', 'running', 'worker', now() - interval '5 minutes')`,
  );
  let ran2 = false;
  await withInlineBuildLock(
    pool(),
    () => undefined,
    async () => {
      ran2 = true;
    },
    { pollMs: 20 },
  );
  expect(ran2).toBe(true);
});
