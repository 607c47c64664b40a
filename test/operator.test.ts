import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { runsQueue, closeQueues } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';
import { closedPort } from './helpers/net';

const TOKEN = 'operator-token-for-tests-0123456789';
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let failedRun: number;

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  await runSource('populations', { trigger: 'test', log: () => undefined }); // embedded default
  await expect(
    runSource('populations', { file: '/nonexistent/donnees_communes.csv', trigger: 'test', log: () => undefined }),
  ).rejects.toThrow(/no such file/);
  failedRun = Number((await pool().query(`select max(id) as id from runs where status = 'failed'`)).rows[0].id);
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe('operator API', () => {
  test('refuses without the token, and is off when no token is configured', async () => {
    expect((await app.inject({ url: '/operator/runs' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/operator/runs', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    const saved = process.env.OPERATOR_TOKEN;
    delete process.env.OPERATOR_TOKEN;
    resetSettings();
    try {
      const res = await app.inject({ url: '/operator/runs', headers: auth });
      expect(res.statusCode).toBe(503);
      expect(res.json().message).toMatch(/OPERATOR_TOKEN/);
    } finally {
      process.env.OPERATOR_TOKEN = saved;
      resetSettings();
    }
  });

  test('lists runs with their counts, filters failures, and shows each source with its schedule and last run', async () => {
    const runs = (await app.inject({ url: '/operator/runs?source=populations', headers: auth })).json();
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['failed', 'succeeded']);
    const ok = runs[1];
    expect(Number(ok.rows_read)).toBe(Number(ok.rows_loaded) + Number(ok.rows_rejected));
    const failed = (await app.inject({ url: '/operator/runs?status=failed', headers: auth })).json();
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/nonexistent/);
    expect((await app.inject({ url: '/operator/runs?status=bogus', headers: auth })).statusCode).toBe(400);
    const sources = (await app.inject({ url: '/operator/sources', headers: auth })).json();
    const pop = sources.find((s: { id: string }) => s.id === 'populations');
    expect(pop.planification).toBe('0 5 2 1 *');
    expect(pop.dernierePassage.status).toBe('failed');
  });

  test("a run's rejected rows, and 404 for an unknown run", async () => {
    const res = await app.inject({ url: `/operator/runs/${failedRun}/quarantine`, headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ run: failedRun, source: 'populations', rows: [] });
    expect((await app.inject({ url: '/operator/runs/999999/quarantine', headers: auth })).statusCode).toBe(404);
  });

  test('enqueues a run on the real Redis', async () => {
    const res = await app.inject({ method: 'POST', url: '/operator/runs/cog', headers: auth, payload: { force: true } });
    expect(res.statusCode).toBe(202);
    const job = await runsQueue().getJob(res.json().job);
    expect(job?.data).toMatchObject({ source: 'cog', force: true, trigger: 'api' });
    expect((await app.inject({ method: 'POST', url: '/operator/runs/nope', headers: auth })).statusCode).toBe(404);
  });

  test('run now with Redis down (a closed port): 503 in French with Retry-After within seconds, not a hang nor a 500', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = `redis://127.0.0.1:${await closedPort()}`;
    resetSettings();
    try {
      const t0 = Date.now();
      const res = await app.inject({ method: 'POST', url: '/operator/runs/cog', headers: auth, payload: {} });
      const took = Date.now() - t0;
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.json().message).toMatch(/^le passage de cog n’a pas été mis en file : la file d’attente \(Redis\) ne répond pas/);
      expect(res.json().message).not.toMatch(/ECONNREFUSED|not reachable|enqueued/);
      expect(took).toBeLessThan(4000);
    } finally {
      await closeQueues();
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
      resetSettings();
    }
  });
});
