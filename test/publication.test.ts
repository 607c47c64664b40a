import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { startFakeDataGouv, FakeDataGouv } from './helpers/fake-datagouv';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { readManifest } from '../src/packs/store';
import { settings } from '../config/settings';
import { buildServer } from '../src/server/app';
import { listTargets, publishCommune } from '../src/publish/publish';
import { decryptSecret } from '../src/publish/secret';
import { closePublicationsQueue, publicationRetry, startPublicationsWorker, PublicationsWorker } from '../src/queue/publications';
import { closeRedisConnections, sharedQueue } from '../src/queue/connection';

/**
 * Publication to data.gouv.fr against a local fake of its API (test/helpers/fake-datagouv.ts):
 * registration through the operator API, idempotence, a new version updating the same resources,
 * 429 and 5xx retried, a revoked key (401) stopping with a French message naming the commune,
 * and the key found nowhere in clear: logs, answers, database dump, queue.
 */
const KEY = `dgv-${crypto.randomBytes(24).toString('hex')}`;
const PUBLICATION_KEY = crypto.randomBytes(32).toString('hex');
const TOKEN = 'operator-token-for-tests-0123456789';
const REAL = path.join(__dirname, 'fixtures', 'ban', 'real', 'adresses-75.csv');
const LINES = fs.readFileSync(REAL, 'utf8').split('\n').filter(Boolean);
const CODE = '75112';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let fake: FakeDataGouv;
let app: FastifyInstance;
let worker: PublicationsWorker | undefined;
const logs: string[] = [];
const answers: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-publish-'));
let edits = 0;

/** Loads the genuine Paris extract with one more address renamed, and rebuilds 75112: a new version. */
async function newVersion(): Promise<string> {
  edits++;
  const lines = LINES.map((l, i) =>
    i > 0 && i <= edits + 5 ? l.replace("Avenue de l'Ecole de Joinville", `Avenue de l'École de Joinville`) : l,
  );
  const dir = fs.mkdtempSync(path.join(tmp, 'v-'));
  fs.writeFileSync(path.join(dir, 'adresses-75.csv'), lines.join('\n') + '\n');
  expect(
    // Each new version is a new BAN publication: a later day.
    (
      await runSource('ban', {
        file: path.join(dir, 'adresses-75.csv'),
        millesime: `2024-06-${String(1 + edits).padStart(2, '0')}`,
        trigger: 'test',
        log: () => undefined,
      })
    ).status,
  ).toBe('succeeded');
  const r = await buildPacks({ communes: [CODE], log: (m) => logs.push(m) });
  expect(r).toMatchObject({ built: 1, failed: 0 });
  return readManifest(settings().PACKS_DIR, CODE)!.latest;
}

async function runsOf(version: string): Promise<{ status: string; attempt: number; writes: number; error: string | null }[]> {
  const { rows } = await pool().query(
    `select status, attempt, writes, error from publication_runs where code = $1 and version = $2 order by id`,
    [CODE, version],
  );
  return rows;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const operator = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
  const res = await app.inject({ method, url, payload: payload as never, headers: { authorization: `Bearer ${TOKEN}` } });
  answers.push(res.body);
  return res;
};

beforeAll(async () => {
  db = await freshDatabase({ PUBLICATION_KEY, OPERATOR_TOKEN: TOKEN, LOG_LEVEL: 'info' });
  publicationRetry.backoffMs = 200;
  fake = await startFakeDataGouv([KEY]);
  await runSource('populations', { trigger: 'test', log: () => undefined });
  expect((await runSource('ban', { file: REAL, millesime: '2024-06-01', trigger: 'test', log: () => undefined })).status).toBe('succeeded');
  expect(await buildPacks({ communes: [CODE], log: (m) => logs.push(m) })).toMatchObject({ built: 1, failed: 0 });
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await worker?.close();
  await closePublicationsQueue();
  await closeRedisConnections();
  await app?.close();
  await fake?.close();
  await db.cleanup();
});

describe('publication to data.gouv.fr', () => {
  test('the operator registers the commune; the key is stored encrypted, never given back', async () => {
    const bad = await operator('PUT', `/operator/publications/${CODE}`, { organization: 'org 12!', apiKey: KEY, apiUrl: fake.apiUrl });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/organization/);
    const res = await operator('PUT', `/operator/publications/${CODE}`, {
      organization: 'mairie-paris-12',
      apiKey: KEY,
      apiUrl: fake.apiUrl,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ code: CODE, nom: 'Paris 12e Arrondissement', organization: 'mairie-paris-12' });
    const {
      rows: [t],
    } = await pool().query(`select api_key_enc from publication_targets where code = $1`, [CODE]);
    expect(Buffer.isBuffer(t.api_key_enc)).toBe(true);
    expect(t.api_key_enc.includes(Buffer.from(KEY))).toBe(false);
    expect(decryptSecret(t.api_key_enc, Buffer.from(PUBLICATION_KEY, 'hex'), CODE)).toBe(KEY);
    expect(() => decryptSecret(t.api_key_enc, Buffer.from(PUBLICATION_KEY, 'hex'), '75101')).toThrow(/illisible/);
  });

  test('the first publication creates one dataset per source with metadata from the pack', async () => {
    const r = await publishCommune(CODE, { log: (m) => logs.push(m) });
    const version = readManifest(settings().PACKS_DIR, CODE)!.latest;
    expect(r).toMatchObject({ status: 'published', version });
    expect(fake.log.every((l) => l.key === KEY)).toBe(true);
    const all = [...fake.datasets.values()];
    expect(all.every((d) => d.organization === 'mairie-paris-12')).toBe(true);
    const ban = all.find((d) => d.resources.some((x) => x.title === 'adresses.csv'))!;
    expect(ban.meta).toMatchObject({
      title: 'Base Adresse Nationale : Paris 12e Arrondissement (75112)',
      license: 'lov2',
      spatial: { zones: ['fr:commune:75112'], granularity: 'fr:commune' },
      frequency: 'weekly',
    });
    expect(String(ban.meta.description)).toContain('Source : DINUM / IGN (Base Adresse Nationale)');
    expect(ban.resources.map((x) => x.title).sort()).toEqual(['adresses.csv', 'adresses.geojson']);
    const pop = all.find((d) => d.resources.some((x) => x.title === 'population.csv'))!;
    expect(pop.meta.temporal_coverage).toEqual({
      start: expect.stringMatching(/^\d{4}-01-01$/),
      end: expect.stringMatching(/^\d{4}-12-31$/),
    });
    const pack = all.find((d) => String(d.meta.title).startsWith('Dotation de données'))!;
    const catalogue = pack.resources.find((x) => x.title === 'catalogue.csv')!;
    expect(catalogue.schema).toEqual({ name: 'scdl/catalogue', version: '0.1.3' });
    // What was uploaded is the pack's own bytes.
    const m = readManifest(settings().PACKS_DIR, CODE)!.versions[0];
    expect(ban.resources.find((x) => x.title === 'adresses.csv')!.sha256).toBe(m.files.find((f) => f.name === 'adresses.csv')!.sha256);
    expect(pack.resources.find((x) => x.title === `dotation-${CODE}.zip`)!.sha256).toBe(m.sha256);
    const [t] = await listTargets(undefined, CODE);
    expect(t).toMatchObject({ state: 'active', publishedVersion: version, latestVersion: version, datasets: all.length });
  });

  test('the same version twice makes no second write (no request at all)', async () => {
    const before = fake.log.length;
    const r = await publishCommune(CODE, { log: (m) => logs.push(m) });
    expect(r).toMatchObject({ status: 'unchanged', writes: 0 });
    expect(fake.log.length).toBe(before);
  });

  test('a new version updates the existing resources: same datasets, same resource ids, new files', async () => {
    const ids = new Map([...fake.datasets.values()].flatMap((d) => d.resources.map((x) => [`${d.id}/${x.title}`, x.id])));
    const datasets = fake.datasets.size;
    const popId = [...fake.datasets.values()].find((d) => d.resources.some((x) => x.title === 'population.csv'))!.id;
    const before = fake.log.length;
    const version = await newVersion();
    const r = await publishCommune(CODE, { log: (m) => logs.push(m) });
    expect(r).toMatchObject({ status: 'published', version });
    const calls = fake.log.slice(before);
    expect(calls.some((c) => c.method === 'POST' && c.path === '/api/1/datasets/')).toBe(false);
    expect(calls.some((c) => c.path.endsWith('/upload/') && !c.path.includes('/resources/'))).toBe(false);
    expect(fake.datasets.size).toBe(datasets);
    const after = new Map([...fake.datasets.values()].flatMap((d) => d.resources.map((x) => [`${d.id}/${x.title}`, x.id])));
    expect(after).toEqual(ids);
    const ban = [...fake.datasets.values()].find((d) => d.resources.some((x) => x.title === 'adresses.csv'))!;
    const csv = ban.resources.find((x) => x.title === 'adresses.csv')!;
    expect(csv.uploads).toBe(2);
    const m = readManifest(settings().PACKS_DIR, CODE)!.versions[0];
    expect(csv.sha256).toBe(m.files.find((f) => f.name === 'adresses.csv')!.sha256);
    expect(calls.some((c) => c.path === `/api/1/datasets/${ban.id}/resources/${csv.id}/upload/`)).toBe(true);
    // The populations did not change: nothing was sent about them.
    expect(calls.some((c) => c.path.includes(popId))).toBe(false);
  });

  test('on the queue: a 5xx is retried, a 429 waited out, each attempt visible to the operator', async () => {
    worker = await startPublicationsWorker({ log: (m) => logs.push(m), client: { maxRetryAfterMs: 1000 } });
    // The jobs enqueued so far (registration, the last build) publish what is already there: nothing to send.
    await waitFor('the queue to drain', async () => {
      const n = await sharedQueue('publications').getJobCounts('waiting', 'active', 'delayed');
      return n.waiting + n.active + n.delayed === 0 ? true : undefined;
    });
    fake.failNext({ status: 503 });
    const version = await newVersion(); // the build enqueues the publication itself
    await waitFor('the retried publication', async () =>
      (await runsOf(version)).some((r) => r.status === 'published') ? true : undefined,
    );
    const runs = await runsOf(version);
    expect(runs[0]).toMatchObject({ status: 'failed', attempt: 1 });
    expect(runs[0].error).toMatch(/erreur de data\.gouv\.fr \(503\)/);
    expect(runs.at(-1)).toMatchObject({ status: 'published', attempt: 2 });
    expect(runs.at(-1)!.writes).toBeGreaterThan(0);

    // A 429 with Retry-After is waited out inside the same attempt.
    fake.failNext({ status: 429, retryAfter: '0' });
    const v2 = await newVersion();
    await waitFor('the rate-limited publication', async () =>
      (await runsOf(v2)).some((r) => r.status === 'published') ? true : undefined,
    );
    expect(await runsOf(v2)).toEqual([expect.objectContaining({ status: 'published', attempt: 1 })]);

    const res = await operator('GET', `/operator/publications/${CODE}/runs`);
    expect(res.statusCode).toBe(200);
    expect(res.json().map((r: { status: string }) => r.status)).toEqual(expect.arrayContaining(['failed', 'published']));
  });

  test('a revoked key (401) stops publication with a French message naming the commune, without retrying', async () => {
    fake.revoke(KEY);
    const version = await newVersion();
    const stopped = await waitFor('the stop', async () => (await runsOf(version)).find((r) => r.status === 'stopped'));
    expect(stopped.error).toContain('Publication sur data.gouv.fr arrêtée pour Paris 12e Arrondissement (75112)');
    expect(stopped.error).toContain("la clé d'API est refusée");
    await new Promise((r) => setTimeout(r, 1000)); // longer than the retry delay: no second attempt
    expect(await runsOf(version)).toHaveLength(1);
    const res = await operator('GET', '/operator/publications');
    expect(res.json()).toEqual([
      expect.objectContaining({ code: CODE, state: 'stopped', stopReason: expect.stringContaining('Paris 12e Arrondissement (75112)') }),
    ]);
    // Stopped: nothing more is sent, and no new build enqueues it.
    const before = fake.log.length;
    expect(await publishCommune(CODE)).toMatchObject({ status: 'stopped', writes: 0 });
    expect(fake.log.length).toBe(before);
  });

  test('the API key appears nowhere in clear: logs, answers, database, queue', async () => {
    await operator('PUT', `/operator/publications/${CODE}`, { organization: 'x', apiKey: 'short', apiUrl: fake.apiUrl });
    await operator('PUT', `/operator/publications/99999`, { organization: 'org', apiKey: KEY, apiUrl: fake.apiUrl });
    expect(logs.length).toBeGreaterThan(3);
    expect(logs.join('\n')).not.toContain(KEY);
    expect(answers.join('\n')).not.toContain(KEY);
    const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', '--no-owner', db.url], { maxBuffer: 512 << 20 });
    expect(stdout).toContain('publication_targets');
    expect(stdout).not.toContain(KEY);
    expect(stdout).not.toContain(Buffer.from(KEY).toString('hex'));
    const jobs = await sharedQueue('publications').getJobs(['completed', 'failed', 'waiting', 'delayed']);
    expect(jobs.length).toBeGreaterThan(0);
    expect(JSON.stringify(jobs.map((j) => [j.data, j.failedReason, j.returnvalue]))).not.toContain(KEY);
  });
});
