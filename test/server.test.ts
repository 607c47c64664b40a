import path from 'node:path';
import crypto from 'node:crypto';
import Fastify, { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { pool } from '../src/db/pool';
import communes from '../src/server/routes/communes';
import web from '../src/server/routes/web';
import { installErrorHandling } from '../src/server/http/errors';

const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
beforeAll(async () => {
  db = await freshDatabase();
  await runSource('populations', { file: FIXTURE, trigger: 'test', log: () => undefined });
  const r = await buildPacks({ communes: ['35238', '35062', '75101'], log: () => undefined });
  expect(r.built).toBe(3);
  // The communes plugin alone, as src/server/app.ts registers it (other route files are tested by their authors).
  app = Fastify({
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 },
  } as object) as unknown as FastifyInstance;
  installErrorHandling(app);
  await app.register(communes);
  await app.register(web);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('GET /communes/:code and its pack', () => {
  test('summary: geo.api fields, type, pack and données', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35238' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      nom: 'Rennes',
      code: '35238',
      codeDepartement: '35',
      siren: '213502388',
      codeEpci: '243500139',
      codeRegion: '53',
      codesPostaux: ['35000', '35200', '35700'],
      type: 'commune-actuelle',
      donnees: { populations: { millesime: '2021', lignes: { 'population.csv': 1 } } },
    });
    expect(typeof body.population).toBe('number');
    expect(body.pack.url).toMatch(/\/communes\/35238\/pack\.zip$/);
    expect(body.pack.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('summary: geo.api fields, format=geojson and geometry; an unknown value falls back; 301 keeps the query', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35238?fields=population,pack' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json())).toEqual(['nom', 'code', 'population', 'pack']);
    expect(res.json().pack.sha256).toMatch(/^[0-9a-f]{64}$/);
    const f = await app.inject({ method: 'GET', url: '/communes/35238?format=geojson&geometry=bbox' });
    expect(f.headers['content-type']).toMatch(/^application\/geo\+json/);
    expect(f.json()).toMatchObject({
      type: 'Feature',
      properties: { nom: 'Rennes', code: '35238', type: 'commune-actuelle', donnees: { populations: { millesime: '2021' } } },
    });
    // An unknown format or geometry falls back to the default, as geo.api does (test/peer-conformance.test.ts).
    for (const url of ['/communes/35238?format=csv', '/communes/35238?geometry=polygon'])
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    const old = await app.inject({ method: 'GET', url: '/communes/35112?fields=nom' });
    expect(old.statusCode).toBe(301);
    expect(old.headers.location).toBe('/communes/35062?fields=nom');
  });

  test('pack.zip: 200 with ETag = sha256 of the bytes, attachment name, then 304 on If-None-Match', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35238/pack.zip' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.rawPayload.subarray(0, 4).toString('binary')).toBe('PK\u0003\u0004');
    expect(res.headers.etag).toBe(`"${sha(res.rawPayload)}"`);
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="dotation-35238-rennes-2026\.1\.zip"$/);
    const again = await app.inject({
      method: 'GET',
      url: '/communes/35238/pack.zip',
      headers: { 'if-none-match': res.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const head = await app.inject({ method: 'HEAD', url: '/communes/35238/pack.zip' });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe(res.headers.etag);
    expect(Number(head.headers['content-length'])).toBe(res.rawPayload.length);
  });

  test('a new version is served at once: the cached manifest and ZIP follow the publication', async () => {
    const before = await app.inject({ method: 'GET', url: '/communes/35062/pack.zip' });
    expect(before.statusCode).toBe(200);
    await pool().query(`update population_legale set pmun = pmun + 1 where code_commune = '35062'`);
    const r = await buildPacks({ communes: ['35062'], recheck: true, log: () => undefined });
    expect(r.built).toBe(1);
    const after = await app.inject({ method: 'GET', url: '/communes/35062/pack.zip' });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.headers.etag).toBe(`"${sha(after.rawPayload)}"`);
    expect(after.headers['content-disposition']).toMatch(/-2026\.2\.zip"$/);
    // The previous version stays downloadable by name, with its own bytes.
    const old = await app.inject({ method: 'GET', url: '/communes/35062/pack/2026.1.zip' });
    expect(old.rawPayload.equals(before.rawPayload)).toBe(true);
  });

  test('Range: 206 with the requested bytes, 416 when out of range', async () => {
    const full = (await app.inject({ method: 'GET', url: '/communes/35238/pack.zip' })).rawPayload;
    const res = await app.inject({ method: 'GET', url: '/communes/35238/pack.zip', headers: { range: 'bytes=10-99' } });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 10-99/${full.length}`);
    expect(res.rawPayload.equals(full.subarray(10, 100))).toBe(true);
    const tail = await app.inject({ method: 'GET', url: '/communes/35238/pack.zip', headers: { range: 'bytes=-20' } });
    expect(tail.rawPayload.equals(full.subarray(full.length - 20))).toBe(true);
    const bad = await app.inject({ method: 'GET', url: '/communes/35238/pack.zip', headers: { range: `bytes=${full.length + 5}-` } });
    expect(bad.statusCode).toBe(416);
  });

  test('pack listing, a version by name and one file of the latest pack', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35238/pack' });
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m.latest).toBe('2026.1');
    expect(m.versions[0].fichiers.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(['LISEZMOI.md', 'datapackage.json', 'commune.json', 'catalogue.csv', 'changes.json', 'population.csv']),
    );
    const v = await app.inject({ method: 'GET', url: `/communes/35238/pack/${m.latest}.zip` });
    expect(v.statusCode).toBe(200);
    expect(v.headers.etag).toBe(`"${m.versions[0].sha256}"`);
    const csv = await app.inject({ method: 'GET', url: '/communes/35238/fichiers/population.csv' });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    // The UTF-8 byte order mark first: French Excel opens the file with its accents on a double-click.
    expect(csv.body.split('\r\n')[0]).toBe(
      '\ufeffmillesime;population_municipale;population_comptee_a_part;population_totale;codes_sources;annee_recensement',
    );
    const listed = m.versions[0].fichiers.find((f: { name: string }) => f.name === 'population.csv');
    expect(sha(csv.rawPayload)).toBe(listed.sha256);
  });

  test('unknown code → JSON 404 with a message', async () => {
    for (const url of [
      '/communes/99999',
      '/communes/99999/pack.zip',
      '/communes/abc',
      '/communes/35238/pack/2019.9.zip',
      '/communes/35238/fichiers/absent.csv',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(typeof res.json().message).toBe('string');
    }
  });

  test("a merged commune's old code → 301 to the current commune's same route", async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35112/pack.zip' });
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/communes/35062/pack.zip');
    const summary = await app.inject({ method: 'GET', url: '/communes/35112' });
    expect(summary.headers.location).toBe('/communes/35062');
  });

  test('path tricks never reach a file outside PACKS_DIR', async () => {
    const urls = [
      '/communes/35238/fichiers/..%2F..%2F..%2Fetc%2Fpasswd',
      '/communes/35238/fichiers/%2Fetc%2Fpasswd',
      '/communes/35238/fichiers/..%5Clatest.json',
      '/communes/35238/fichiers/latest.json',
      '/communes/35238/pack/..%2F35062%2F2026.1.zip',
      '/communes/35238/pack/%2Fetc%2Fpasswd.zip',
      '/communes/..%2F..%2Fetc/pack.zip',
      '/communes/35238/../../etc/passwd',
      '/communes/%2e%2e/pack',
    ];
    for (const url of urls) {
      const res = await app.inject({ method: 'GET', url });
      expect([400, 404]).toContain(res.statusCode);
      expect(res.body).not.toMatch(/root:|"versions"/);
    }
  });

  test('the French web page links the download and every file; old codes get a notice (test/site.test.ts has the rest)', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/35238/page' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<h1>Données ouvertes de Rennes</h1>');
    expect(res.body).toContain('href="/communes/35238/pack.zip"');
    expect(res.body).toContain('href="/communes/35238/fichiers/population.csv"');
    const old = await app.inject({ method: 'GET', url: '/communes/35112/page' });
    expect(old.statusCode).toBe(200);
    expect(old.body).toContain('href="/communes/35062/page"');
    expect((await app.inject({ method: 'GET', url: '/communes/99999/page' })).statusCode).toBe(404);
  });
});
