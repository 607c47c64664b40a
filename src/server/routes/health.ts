import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import IORedis from 'ioredis';
import { settings } from '../../../config/settings';
import { pool } from '../../db/pool';

/**
 * Probes for an orchestrator:
 *   GET /health        liveness: the process answers (nothing else is checked: a database outage
 *                      must not get the server restarted, it still serves the packs from disk);
 *   GET /health/ready  readiness: PostgreSQL answers, Redis answers, PACKS_DIR is writable — 200
 *                      with each check, or 503 naming what fails.
 */
const TIMEOUT_MS = 2000;

interface Check {
  ok: boolean;
  ms: number;
  error?: string;
}

async function timed(what: string, fn: () => Promise<unknown>): Promise<Check> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} : pas de réponse en ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Date.now() - t0 };
  } catch (err) {
    return { ok: false, ms: Date.now() - t0, error: (err as Error).message || String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export default async function health(app: FastifyInstance): Promise<void> {
  // One Redis connection for the probes, failing fast while Redis is away (no offline queue, no retries per command).
  let redis: { url: string; conn: IORedis } | undefined;
  const redisFor = (url: string) => {
    if (redis?.url !== url) {
      redis?.conn.disconnect();
      const conn = new IORedis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: TIMEOUT_MS });
      conn.on('error', () => undefined); // reported by the probe itself
      redis = { url, conn };
    }
    return redis.conn;
  };
  app.addHook('onClose', async () => redis?.conn.disconnect());

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/health/ready', async (_req, reply) => {
    const s = settings();
    const [postgresql, redisCheck, packs] = await Promise.all([
      timed('PostgreSQL', () => pool(s.DATABASE_URL).query('select 1')),
      timed('Redis', async () => {
        const conn = redisFor(s.REDIS_URL);
        if (conn.status === 'wait' || conn.status === 'end') await conn.connect();
        await conn.ping();
      }),
      timed('PACKS_DIR', async () => {
        // Write and remove a small file: catches a read-only mount and a full disk, not just permissions.
        await fs.promises.mkdir(s.PACKS_DIR, { recursive: true });
        const probe = path.join(s.PACKS_DIR, `.ready-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`);
        await fs.promises.writeFile(probe, 'ok\n');
        await fs.promises.rm(probe, { force: true });
      }),
    ]);
    const checks = { postgresql, redis: redisCheck, packs };
    const failing = Object.entries(checks).filter(([, c]) => !c.ok);
    if (!failing.length) return { status: 'ready', checks };
    return reply.code(503).send({
      message: `pas prêt : ${failing.map(([k, c]) => `${k} (${c.error})`).join(' ; ')}`,
      status: 'not ready',
      checks,
    });
  });
}
