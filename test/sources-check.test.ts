import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { FakeDatagouv, startFakeDatagouv } from './helpers/datagouv-server';
import { pool } from '../src/db/pool';
import { parseSettings, resetSettings, Settings } from '../config/settings';
import type { SourceDeclaration } from '../config/sources';
import { BROKEN, checkSources } from '../src/harvest/check';
import { buildServer } from '../src/server/app';

/** The genuine 2025 answer of « Catalogue des données de data.gouv.fr » (test/fixtures/datagouv-api/real/PROVENANCE.md). */
const CATALOGUE = fs.readFileSync(
  path.join(__dirname, 'fixtures', 'datagouv-api', 'real', 'api-1-datasets-catalogue-des-donnees-de-data-gouv-fr.json'),
  'utf8',
);
const SLUG = 'catalogue-des-donnees-de-data-gouv-fr';
const TOKEN = 'operator-token-for-tests-0123456789';

function declaration(server: FakeDatagouv): SourceDeclaration {
  const res = (name: string, extra: Partial<SourceDeclaration['resources'][number]>) => ({
    name,
    page: 'https://www.data.gouv.fr/fr/datasets/x/',
    mirrorNames: [`${name}.csv`],
    ...extra,
  });
  return {
    id: 'essai',
    title: 'Source de test',
    producer: 'test',
    licence: { id: 'lov2', title: 'Licence Ouverte', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/' },
    landingPage: 'https://www.data.gouv.fr/fr/datasets/x/',
    format: 'csv',
    schedule: '0 4 * * *',
    resources: [
      // The daily export: a newer edition than the one loaded.
      res('export-datasets', {
        datagouv: { dataset: SLUG, title: '^export-dataset-\\d{8}' },
        edition: { from: 'title', pattern: 'export-dataset-(\\d{8})' },
      }),
      // Same dataset, asked once; its edition is the one loaded.
      res('export-tags', { datagouv: { dataset: SLUG, title: '^export-tag-' }, edition: { from: 'title', pattern: '(\\d{8})' } }),
      res('renomme', { datagouv: { dataset: 'ancien-nom', format: 'csv' } }),
      res('disparu', { url: `${server.url}/fichiers/2023/disparu.csv` }),
      res('deplace', { url: `${server.url}/fichiers/2023/deplace.csv`, edition: { from: 'url', pattern: '/(\\d{4})/' } }),
      res('lien-stable', { url: `${server.url}/fr/datasets/r/322d1475-f36a-472d-97ce-d218c8f79092` }),
      res('sans-ressource', { datagouv: { dataset: SLUG, title: '^nothing-like-this' } }),
      res('copie', { mirrorOnly: true }),
    ],
  };
}

/** The QPV dataset answered in the API's layout: the genuine 2025 resource object, given the declared QPV id. */
function serveQpv(): void {
  const genuine = JSON.parse(server.local(CATALOGUE));
  const qpv = {
    ...genuine.resources[2],
    id: '942d4ee8-8142-4556-8ea1-335537ce1119',
    url: `${server.url}/resources/qpv/20260115-100000/qpv.zip`,
  };
  server.routes.set('/api/1/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/', {
    json: JSON.stringify({ ...genuine, slug: 'quartiers-prioritaires-de-la-politique-de-la-ville-qpv', resources: [qpv] }),
  });
  server.routes.set('/resources/qpv/20260115-100000/qpv.zip', { body: 'zip' });
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
let server: FakeDatagouv;
let settings: Settings;
beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  server = await startFakeDatagouv();
  settings = parseSettings({ ...db.env, NETWORK: 'auto', DATAGOUV_API: `${server.url}/api` });
  const answer = server.local(CATALOGUE);
  server.routes.set(`/api/1/datasets/${SLUG}/`, { json: answer });
  server.routes.set('/api/1/datasets/ancien-nom/', { status: 308, location: `/api/1/datasets/${SLUG}/` });
  for (const r of JSON.parse(answer).resources as { url: string }[]) server.routes.set(new URL(r.url).pathname, { body: 'x' });
  server.routes.set('/fichiers/2023/deplace.csv', { status: 301, location: '/fichiers/2024/deplace.csv' });
  server.routes.set('/fr/datasets/r/322d1475-f36a-472d-97ce-d218c8f79092', { status: 302, location: '/resources/x/export.csv' });
  // What was loaded before: the export of the day before, and the tags of the day.
  const {
    rows: [run],
  } = await pool().query(`insert into runs (source, status) values ('essai', 'succeeded') returning id`);
  await pool().query(
    `insert into provenance (run_id, source, resource, origin, path, sha256, bytes, edition) values
       ($1, 'essai', 'export-datasets', 'download', '/x', 'a', 1, '20250406'),
       ($1, 'essai', 'export-tags', 'download', '/y', 'b', 1, '20250407')`,
    [run.id],
  );
});
afterAll(async () => {
  await server.close();
  await db.cleanup();
});

describe('sources check: upstream asked, nothing loaded', () => {
  test('a new edition, a 404, a moved URL, a renamed dataset, a stable link, no matching resource, a mirror-only copy', async () => {
    const before = server.requests.length;
    const got = await checkSources(pool(), settings, [declaration(server)]);
    const by = new Map(got.map((r) => [r.resource, r]));
    expect(by.get('export-datasets')).toMatchObject({
      status: 'new-edition',
      edition: '20250407',
      loaded: '20250406',
      dataset: SLUG,
      resourceId: 'f868cca6-8da1-4369-a78d-47463f19a9a3',
      lastModified: '2025-04-07T07:49:37.212000+00:00',
      http: 200,
    });
    expect(by.get('export-tags')).toMatchObject({ status: 'ok', edition: '20250407', loaded: '20250407' });
    expect(by.get('disparu')).toMatchObject({ status: 'missing', http: 404, detail: '404: the declared URL is gone' });
    expect(by.get('deplace')).toMatchObject({
      status: 'moved',
      http: 301,
      location: `${server.url}/fichiers/2024/deplace.csv`,
      edition: '2023',
    });
    expect(by.get('renomme')).toMatchObject({ status: 'moved', http: 308, dataset: SLUG });
    expect(by.get('renomme')!.detail).toMatch(/dataset 'ancien-nom' is now 'catalogue-des-donnees-de-data-gouv-fr'/);
    expect(by.get('lien-stable')).toMatchObject({ status: 'ok', http: 302 });
    expect(by.get('sans-ressource')).toMatchObject({ status: 'no-match' });
    expect(by.get('copie')).toMatchObject({ status: 'mirror-only', http: null });
    expect(got.filter((r) => BROKEN.has(r.status)).map((r) => r.resource)).toEqual(['renomme', 'disparu', 'deplace', 'sans-ressource']);
    // Nothing downloaded: HEAD requests on the files, the dataset asked once for its three resources.
    const asked = server.requests.slice(before);
    expect(
      asked
        .filter((q) => q.method === 'GET')
        .map((q) => q.url)
        .sort(),
    ).toEqual(['/api/1/datasets/ancien-nom/', `/api/1/datasets/${SLUG}/`, `/api/1/datasets/${SLUG}/`]);
    expect(asked.filter((q) => q.method !== 'GET').every((q) => q.method === 'HEAD')).toBe(true);
  });

  test('the network disabled: refused with the reason', async () => {
    await expect(checkSources(pool(), parseSettings({ ...db.env, NETWORK: 'never' }), [declaration(server)])).rejects.toThrow(
      /NETWORK=never/,
    );
  });
});

describe('GET /operator/sources/check', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildServer();
    await app.ready();
  });
  afterAll(async () => app?.close());

  test('behind the operator token; 503 in French while the network is disabled; 404 for an unknown source', async () => {
    expect((await app.inject({ url: '/operator/sources/check' })).statusCode).toBe(401);
    const off = await app.inject({ url: '/operator/sources/check?source=qpv', headers: { authorization: `Bearer ${TOKEN}` } });
    expect([off.statusCode, off.json().message]).toEqual([503, 'vérification impossible : le réseau est désactivé (NETWORK=never)']);
    process.env.NETWORK = 'auto';
    resetSettings();
    try {
      const unknown = await app.inject({ url: '/operator/sources/check?source=qpv,nope', headers: { authorization: `Bearer ${TOKEN}` } });
      expect([unknown.statusCode, unknown.json().message]).toEqual([404, 'source inconnue : nope']);
    } finally {
      process.env.NETWORK = 'never';
      resetSettings();
    }
  });

  test('the QPV declaration checked against the fake data.gouv.fr: its resource, found by id, and the edition it states', async () => {
    serveQpv();
    Object.assign(process.env, { NETWORK: 'auto', DATAGOUV_API: `${server.url}/api` });
    resetSettings();
    try {
      const res = await app.inject({ url: '/operator/sources/check?source=qpv', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        aCorriger: 0,
        ressources: [
          {
            source: 'qpv',
            resource: 'qpv',
            status: 'ok',
            edition: '2024',
            dataset: 'quartiers-prioritaires-de-la-politique-de-la-ville-qpv',
            resourceId: '942d4ee8-8142-4556-8ea1-335537ce1119',
            url: `${server.url}/resources/qpv/20260115-100000/qpv.zip`,
          },
        ],
      });
    } finally {
      Object.assign(process.env, { NETWORK: 'never', DATAGOUV_API: 'https://www.data.gouv.fr/api' });
      resetSettings();
    }
  });
});

describe('dotation sources check (the CLI)', () => {
  /** The command in a child process (async: the fake data.gouv.fr answers from this process). */
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.resolve(__dirname, '..', 'bin', 'dotation.js'), ...args],
        { cwd: path.resolve(__dirname, '..'), env: { ...process.env, ...db.env, ...env }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test('one line per resource with its status and edition; exit 1 when one must be fixed, 2 for an unknown source', async () => {
    serveQpv();
    const ok = await cli(['sources', 'check', 'qpv'], { NETWORK: 'auto', DATAGOUV_API: `${server.url}/api`, LOG_LEVEL: 'silent' });
    expect(ok.stdout).toMatch(/^source\s+resource\s+status\s+edition\s+loaded\s+detail/);
    expect(ok.stdout).toMatch(/\nqpv\s+qpv\s+ok\s+2024\s+/);
    expect(ok.stdout).toMatch(/1 resource\(s\) checked: 0 new edition\(s\), 0 to fix/);
    expect(ok.code).toBe(0);
    // The dataset gone upstream: exit code 1, the line says why.
    server.routes.delete('/api/1/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/');
    const gone = await cli(['sources', 'check', 'qpv'], { NETWORK: 'auto', DATAGOUV_API: `${server.url}/api`, LOG_LEVEL: 'silent' });
    expect(gone.stdout).toMatch(/\nqpv\s+qpv\s+missing\s+.*HTTP 404/);
    expect(gone.code).toBe(1);
    const unknown = await cli(['sources', 'check', 'nope'], {});
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/unknown source 'nope'/)]);
  });
});
