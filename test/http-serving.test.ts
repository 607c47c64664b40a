import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings, settings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { publishVersion, readManifest } from '../src/packs/store';
import { zipFiles } from '../src/packs/zip';
import { pool } from '../src/db/pool';
import { invalidateReferential } from '../src/communes/referential';
import { buildServer } from '../src/server/app';
import { DOCUMENT_ONLY_HEADERS } from '../src/server/http/security';
import { closeQueues } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * Issue 13, probe items 7 (truthful serving), 8 (HTTP) and 9 (serving): what a reuser and an
 * orchestrator see of the server, through the whole app (buildServer), plug-ins included.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');
const TOKEN = 'operator-token-for-tests-0123456789';
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
const apps: FastifyInstance[] = [];

/** Runs `fn` with extra settings (undefined: unset), then puts the environment back. */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const put = (e: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(e))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    resetSettings();
  };
  put(env);
  try {
    return await fn();
  } finally {
    put(saved);
  }
}

/** A server built with extra settings (those read when the app is built: CORS, CSP, rate limit). */
async function appWith(env: Record<string, string | undefined>): Promise<FastifyInstance> {
  return withEnv(env, async () => {
    const a = await buildServer();
    await a.ready();
    apps.push(a);
    return a;
  });
}

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN, PUBLISHER_NAME: 'Région Exemple' });
  await runSource('populations', { file: FIXTURE, trigger: 'test', log: () => undefined });
  const r = await buildPacks({ communes: ['35238', '35062', '75101'], log: () => undefined });
  expect(r.built).toBe(3);
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  for (const a of apps) await a.close();
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
});

describe('truthful serving: one source of truth, the manifest on disk (probe 7)', () => {
  test('summary, versions list, catalog and pack.zip agree — also while the ledger lags behind the disk', async () => {
    const agree = async () => {
      const zip = await app.inject({ url: '/communes/35238/pack.zip' });
      const summary = (await app.inject({ url: '/communes/35238' })).json();
      const listing = (await app.inject({ url: '/communes/35238/pack' })).json();
      const catalog = (await app.inject({ url: '/communes/35238/catalog.jsonld' })).json();
      const packDist = (catalog['@graph'] as Record<string, unknown>[]).find(
        (n) => typeof n['dcat:downloadURL'] === 'object' && JSON.stringify(n['dcat:downloadURL']).includes('/communes/35238/pack.zip'),
      );
      const served = sha(zip.rawPayload);
      expect(zip.headers.etag).toBe(`"${served}"`);
      expect(summary.pack).toMatchObject({ sha256: served, bytes: zip.rawPayload.length, version: listing.latest });
      expect(listing.versions[0]).toMatchObject({ sha256: served, version: listing.latest });
      expect(JSON.stringify(catalog)).toContain(served);
      expect(packDist).toBeDefined();
      return { served, version: listing.latest as string };
    };
    const first = await agree();
    // A version published on disk while pack_builds still names the previous one: what a build in
    // progress (manifest written, ledger row not yet) or a killed fan-out leaves.
    const dir = settings().PACKS_DIR;
    const prev = readManifest(dir, '35238')!;
    const zip = await zipFiles([{ name: 'LISEZMOI.md', data: Buffer.from('# version de test\n') }]);
    await publishVersion(
      dir,
      '35238',
      zip,
      { ...prev.versions[0], version: '2026.99', sha256: sha(zip), bytes: zip.length, createdAt: new Date().toISOString(), files: [] },
      5,
      prev,
      'Rennes',
    );
    const ledger = (await pool().query(`select sha256 from pack_builds where code = '35238'`)).rows[0].sha256;
    expect(ledger).toBe(first.served);
    const second = await agree();
    expect(second).toEqual({ served: sha(zip), version: '2026.99' });
    // Back to the built pack for the other tests.
    await publishVersion(
      dir,
      '35238',
      fs.readFileSync(path.join(dir, '35238', `${first.version}.zip`)),
      { ...prev.versions[0], version: '2026.100', createdAt: new Date().toISOString() },
      5,
      readManifest(dir, '35238'),
      'Rennes',
    );
  });
});

describe('pack and file routes serve from disk while PostgreSQL is down (probe 8)', () => {
  test('a server started with PostgreSQL unreachable serves packs, files and the versions list; the summary says 503, not 500', async () => {
    const good = await app.inject({ url: '/communes/35238/pack.zip' });
    invalidateReferential();
    await withEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' }, async () => {
      const down = await appWith({});
      const zip = await down.inject({ url: '/communes/35238/pack.zip' });
      expect(zip.statusCode).toBe(200);
      expect(zip.rawPayload.equals(good.rawPayload)).toBe(true);
      expect(zip.headers['content-disposition']).toMatch(/dotation-35238-rennes-/);
      const listing = await down.inject({ url: '/communes/35238/pack' });
      expect(listing.statusCode).toBe(200);
      expect((await down.inject({ url: `/communes/35238/pack/${listing.json().latest}.zip` })).statusCode).toBe(200);
      expect((await down.inject({ url: '/communes/35238/fichiers/LISEZMOI.md' })).statusCode).toBe(200);
      const summary = await down.inject({ url: '/communes/35238' });
      expect(summary.statusCode).toBe(503);
      expect(summary.headers['retry-after']).toBeDefined();
      expect(summary.json().message).toMatch(/base de données/);
      expect((await down.inject({ url: '/health' })).statusCode).toBe(200);
      const ready = await down.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks).toMatchObject({ postgresql: { ok: false }, redis: { ok: true }, packs: { ok: true } });
      expect(ready.json().message).toMatch(/postgresql/);
    });
    invalidateReferential();
  });

  test('a running server whose PostgreSQL goes away keeps serving packs from the referential in memory', async () => {
    expect((await app.inject({ url: '/communes/35238/pack.zip' })).statusCode).toBe(200); // referential loaded
    const p = pool();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const spy = jest.spyOn(p, 'query').mockImplementation((() => Promise.reject(refused)) as never);
    try {
      await new Promise((r) => setTimeout(r, 2100)); // past the referential's re-check interval
      const zip = await app.inject({ url: '/communes/35062/pack.zip' });
      expect(zip.statusCode).toBe(200);
      const old = await app.inject({ url: '/communes/35112/pack.zip' });
      expect([old.statusCode, old.headers.location]).toEqual([301, '/communes/35062/pack.zip']);
      const geo = await app.inject({ url: '/communes?codePostal=35200' });
      expect(geo.statusCode).not.toBe(500);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('health', () => {
  test('/health is liveness only; /health/ready checks PostgreSQL, Redis and PACKS_DIR', async () => {
    expect((await app.inject({ url: '/health' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { postgresql: { ok: true }, redis: { ok: true }, packs: { ok: true } } });
    const file = path.join(settings().PACKS_DIR, '..', 'not-a-dir');
    fs.writeFileSync(file, 'x');
    await withEnv({ PACKS_DIR: path.join(file, 'packs'), REDIS_URL: 'redis://127.0.0.1:1' }, async () => {
      const r = await app.inject({ url: '/health/ready' });
      expect(r.statusCode).toBe(503);
      expect(r.json().checks).toMatchObject({ postgresql: { ok: true }, redis: { ok: false }, packs: { ok: false } });
      expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    });
  });
});

describe('HTTP hardening (probe 8)', () => {
  test('CORS on public routes: the origin allowed, validators and ranges exposed, preflight answered', async () => {
    const r = await app.inject({ url: '/communes/35238/pack.zip', headers: { origin: 'https://reuser.example' } });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const exposed = String(r.headers['access-control-expose-headers']).toLowerCase();
    for (const h of ['etag', 'content-length', 'content-range', 'accept-ranges', 'link', 'location', 'content-disposition'])
      expect(exposed.split(',').map((x) => x.trim())).toContain(h);
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/communes/35238/pack.zip',
      headers: {
        origin: 'https://reuser.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range, if-none-match',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(String(pre.headers['access-control-allow-methods'])).toMatch(/GET/);
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toMatch(/range/);
  });

  test('no CORS header at all on /operator/*, preflight included', async () => {
    const r = await app.inject({ url: '/operator/runs', headers: { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(200);
    expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/operator/runs/populations',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  test('security headers: nosniff everywhere, a CSP without inline script on HTML pages, frame-ancestors from the settings', async () => {
    for (const url of ['/communes/35238', '/communes/35238/pack.zip', '/communes/35238/page', '/nulle-part'])
      expect([url, (await app.inject({ url })).headers['x-content-type-options']]).toEqual([url, 'nosniff']);
    const page = await app.inject({ url: '/communes/35238/page' });
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'self'/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
    // A ZIP is downloaded, never rendered: it goes without the headers meant for documents; an
    // error answer on the same route (a page a browser may show) keeps them.
    const zip = await app.inject({ url: '/communes/35238/pack.zip' });
    expect([zip.statusCode, zip.headers['content-type'], zip.headers['cross-origin-resource-policy']]).toEqual([
      200,
      'application/zip',
      'cross-origin',
    ]);
    for (const h of DOCUMENT_ONLY_HEADERS) expect([h, zip.headers[h]]).toEqual([h, undefined]);
    const missing = await app.inject({ url: '/communes/99999/pack.zip' });
    expect([missing.statusCode, typeof missing.headers['content-security-policy']]).toEqual([404, 'string']);
    const framed = await appWith({ FRAME_ANCESTORS: "'self' https://www.mairie-exemple.fr" });
    expect(String((await framed.inject({ url: '/communes/35238/page' })).headers['content-security-policy'])).toMatch(
      /frame-ancestors 'self' https:\/\/www\.mairie-exemple\.fr/,
    );
  });

  test('rate limit on public routes: 429 in French with Retry-After; operator and health are not counted', async () => {
    const limited = await appWith({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await limited.inject({ url: '/communes/35238/pack' })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const r = await limited.inject({ url: '/communes/35238/pack.zip' });
    expect(r.statusCode).toBe(429);
    expect(Object.keys(r.json())).toEqual(['message']);
    expect(r.json().message).toMatch(/^trop de requêtes : au plus 3 par 60 s/);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      expect((await limited.inject({ url: '/health' })).statusCode).toBe(200);
      expect((await limited.inject({ url: '/operator/runs', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    }
  });

  test('Range: several disjoint ranges → the whole body (200); overlapping ones merged (206); If-Range of another version → 200', async () => {
    const full = (await app.inject({ url: '/communes/35238/pack.zip' })).rawPayload;
    const multi = await app.inject({ url: '/communes/35238/pack.zip', headers: { range: 'bytes=0-9,20-29' } });
    expect(multi.statusCode).toBe(200);
    expect(multi.rawPayload.equals(full)).toBe(true);
    expect(Number(multi.headers['content-length'])).toBe(full.length);
    const merged = await app.inject({ url: '/communes/35238/pack.zip', headers: { range: 'bytes=0-9,5-19' } });
    expect(merged.statusCode).toBe(206);
    expect(merged.headers['content-range']).toBe(`bytes 0-19/${full.length}`);
    expect(merged.rawPayload.equals(full.subarray(0, 20))).toBe(true);
    const stale = await app.inject({ url: '/communes/35238/pack.zip', headers: { range: 'bytes=0-9', 'if-range': '"autre"' } });
    expect([stale.statusCode, stale.rawPayload.length]).toEqual([200, full.length]);
    const bad = await app.inject({ url: '/communes/35238/pack.zip', headers: { range: `bytes=${full.length + 5}-` } });
    expect(bad.statusCode).toBe(416);
    expect(bad.headers['content-range']).toBe(`bytes */${full.length}`);
    expect(bad.json().message).toMatch(/plage non satisfaisable/);
  });

  test('compression where it helps: JSON gzipped on request, ZIPs never', async () => {
    const spec = await app.inject({ url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } });
    expect(spec.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(zlib.gunzipSync(spec.rawPayload).toString()).openapi).toMatch(/^3\./);
    const zip = await app.inject({ url: '/communes/35238/pack.zip', headers: { 'accept-encoding': 'gzip' } });
    expect(zip.headers['content-encoding']).toBeUndefined();
    expect(zip.rawPayload.subarray(0, 2).toString()).toBe('PK');
  });
});
