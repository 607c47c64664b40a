import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { FakeDatagouv, realAnswer, startFakeDatagouv } from './helpers/datagouv-server';
import { pool } from '../src/db/pool';
import { parseSettings, Settings } from '../config/settings';
import type { SourceDeclaration } from '../config/sources';
import { fetchDataset, DatagouvError } from '../src/harvest/datagouv';
import { compareEditions, pickResource, readEdition } from '../src/harvest/match';
import { resolveResources } from '../src/harvest/resolve';
import { silentProgress } from '../src/engine/progress';

const IRIGO = 'horaires-et-arrets-du-reseau-irigo-format-gtfs';
const SNCF = 'horaires-des-lignes-ter-sncf';
const irigo = realAnswer('dataset-v1-irigo-2017-10-12.json');
const sncf = realAnswer('dataset-v1-demo-sncf-ter.json');

/** A source declared on data.gouv.fr like a pipeline would: the Irigo periods, the newest by its title. */
function declaration(overrides: Partial<SourceDeclaration['resources'][number]> = {}): SourceDeclaration {
  return {
    id: 'essai',
    title: 'Source de test',
    producer: 'test',
    licence: { id: 'lov2', title: 'Licence Ouverte', url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/' },
    landingPage: 'https://www.data.gouv.fr/fr/datasets/x/',
    format: 'zip',
    schedule: '0 4 * * *',
    resources: [
      {
        name: 'horaires',
        datagouv: { dataset: IRIGO, title: '^Keolis_Irigo_Angers_\\d{8}' },
        edition: { from: 'title', pattern: '_(\\d{8})-\\d{8}' },
        page: `https://www.data.gouv.fr/fr/datasets/${IRIGO}/`,
        mirrorNames: ['horaires.zip'],
        ...overrides,
      },
    ],
  };
}

describe('data.gouv.fr answers: the genuine layout, read as the harvester reads it', () => {
  test('a v1 dataset of 2017 and one of 2020 parse: resources inline, nulls where the API had none', async () => {
    const server = await startFakeDatagouv();
    try {
      server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: irigo });
      server.routes.set(`/api/1/datasets/${SNCF}/`, { json: sncf });
      const d = await fetchDataset(IRIGO, { api: `${server.url}/api` });
      expect(d).toMatchObject({ id: '5387f0a0a3a7291cb367549e', slug: IRIGO, redirects: [] });
      expect(d.resources).toHaveLength(6);
      expect(d.resources[0]).toMatchObject({
        id: 'd97edd33-52fa-4765-a1d7-2784b26cb0ca',
        title: 'Keolis_Irigo_Angers_20170129-20170409.zip',
        format: 'zip',
        filesize: 1684490,
        checksum: { type: 'sha1', value: '0607a2dc4d826d0901dac5dcb69c1a0555ab78cf' },
        last_modified: '2017-01-30T09:44:30.126000',
      });
      expect(d.resources[0].type).toBeUndefined(); // not in 2017 answers
      const s = await fetchDataset(SNCF, { api: `${server.url}/api` });
      expect(s.resources.map((r) => [r.title, r.type, r.checksum, r.filesize])).toEqual([
        ['Export au format CSV', 'main', null, null],
        ['Export au format JSON', 'main', null, null],
      ]);
    } finally {
      await server.close();
    }
  });

  test('a v2 dataset: its resources link is followed page after page (udata apiv2 layout)', async () => {
    const server = await startFakeDatagouv();
    try {
      const all = JSON.parse(irigo).resources as unknown[];
      const v2 = {
        ...JSON.parse(irigo),
        resources: { rel: 'subsection', href: `${server.url}/api/2/datasets/ID/resources/?page=1&page_size=50`, type: 'GET', total: 6 },
      };
      server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: JSON.stringify(v2) });
      server.routes.set(`/api/2/datasets/ID/resources/?page=1&page_size=100`, {
        json: JSON.stringify({
          data: all.slice(0, 4),
          next_page: `${server.url}/api/2/datasets/ID/resources/?page=2&page_size=100`,
          page: 1,
          page_size: 100,
          previous_page: null,
          total: 6,
        }),
      });
      server.routes.set(`/api/2/datasets/ID/resources/?page=2&page_size=100`, {
        json: JSON.stringify({ data: all.slice(4), next_page: null, page: 2, page_size: 100, previous_page: 'x', total: 6 }),
      });
      const d = await fetchDataset(IRIGO, { api: `${server.url}/api` });
      expect(d.resources.map((r) => r.id)).toEqual((all as { id: string }[]).map((r) => r.id));
    } finally {
      await server.close();
    }
  });

  test('a renamed slug (308) is followed and reported; 404 and 410 are errors naming the URL and status', async () => {
    const server = await startFakeDatagouv();
    try {
      server.routes.set('/api/1/datasets/ancien-nom/', { status: 308, location: `/api/1/datasets/${IRIGO}/` });
      server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: irigo });
      server.routes.set('/api/1/datasets/supprime/', { status: 410 });
      const d = await fetchDataset('ancien-nom', { api: `${server.url}/api` });
      expect(d.slug).toBe(IRIGO);
      expect(d.redirects).toEqual([{ status: 308, location: `${server.url}/api/1/datasets/${IRIGO}/` }]);
      await expect(fetchDataset('inconnu', { api: `${server.url}/api`, baseDelayMs: 1 })).rejects.toThrow(
        /datasets\/inconnu\/: HTTP 404 \(Not Found\)/,
      );
      const gone = await fetchDataset('supprime', { api: `${server.url}/api`, baseDelayMs: 1 }).catch((e) => e);
      expect(gone).toBeInstanceOf(DatagouvError);
      expect(gone.status).toBe(410);
    } finally {
      await server.close();
    }
  });
});

describe('matching and editions', () => {
  const resources = JSON.parse(irigo).resources;

  test('the newest edition, read from the titles, is picked among the matching resources', () => {
    const d = declaration().resources[0];
    const p = pickResource(d.datagouv!, d.edition, resources)!;
    expect(p.resource.title).toBe('Keolis_Irigo_Angers_20170129-20170409.zip');
    expect(p.edition).toEqual({ edition: '20170129', from: 'title' });
    expect(p.candidates).toBe(6);
    // A resource id names exactly one.
    const one = pickResource({ dataset: IRIGO, resource: '0618E10E-D4EB-4135-8A48-143E557C9F1A' }, undefined, resources)!;
    expect([one.resource.title, one.candidates]).toEqual(['Keolis_Irigo_Angers_20161226-20170128.zip', 1]);
    expect(pickResource({ dataset: IRIGO, title: 'absent' }, undefined, resources)).toBeUndefined();
  });

  test('editions: declared, from a title, URL, name (with a template) or metadata day; never a local file date', () => {
    expect(readEdition({ value: 'presidentielle-2022-t1' }, {})).toEqual({ edition: 'presidentielle-2022-t1', from: 'declaration' });
    expect(
      readEdition(
        { from: 'url', pattern: '/contours-administratifs/(\\d{4})/' },
        { url: 'https://x/contours-administratifs/2025/geojson/communes-50m.geojson' },
      ),
    ).toEqual({
      edition: '2025',
      from: 'url',
    });
    // A rule on the URL falls back to the file name when only a local copy is known…
    expect(readEdition({ from: 'url', pattern: '(\\d{4}_T[1-4])' }, { name: '2026_T1_sites_Metropole.csv' })).toEqual({
      edition: '2026_T1',
      from: 'name',
    });
    // …and finds nothing in a name that states nothing.
    expect(readEdition({ from: 'url', pattern: '/contours-administratifs/(\\d{4})/' }, { name: 'communes-50m.geojson' })).toBeNull();
    expect(readEdition({ from: 'name', pattern: 'bpe(\\d{2})', template: '20$1' }, { name: 'BPE25.zip' })).toEqual({
      edition: '2025',
      from: 'name',
    });
    expect(readEdition({ from: 'last_modified' }, { lastModified: '2024-07-10T17:06:06+00:00' })).toEqual({
      edition: '2024-07-10',
      from: 'last_modified',
    });
    expect(readEdition({ from: 'last_modified' }, {})).toBeNull();
    expect(readEdition(undefined, { name: 'x' })).toBeNull();
  });

  test('editions compare chronologically, numbers as numbers', () => {
    expect(['2024_T3', '2025_T1', '2023_T4'].sort(compareEditions)).toEqual(['2023_T4', '2024_T3', '2025_T1']);
    expect(compareEditions('9', '10')).toBeLessThan(0);
    expect(compareEditions('2025-01-01', '2024-12-31')).toBeGreaterThan(0);
    // Millésimes of the engine compare by their keys, not their text: a 2022 vote is older than a 2026 one.
    expect(compareEditions('presidentielle-2022-t2', 'municipales-2026-t1')).toBeLessThan(0);
    expect(compareEditions('2024', '2024_T3')).toBeLessThan(0);
  });
});

describe('resolveResources: found through the data.gouv.fr API', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: FakeDatagouv;
  let settings: Settings;
  const logs: string[] = [];
  const resolve = (source = declaration(), extra: Partial<Parameters<typeof resolveResources>[3]> = {}) =>
    resolveResources(pool(), settings, source, { progress: silentProgress, log: (m) => logs.push(m), ...extra });

  beforeAll(async () => {
    db = await freshDatabase();
    server = await startFakeDatagouv();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harvest-'));
    settings = parseSettings({ ...db.env, NETWORK: 'auto', MIRROR_DIR: '', DATA_DIR: dir, DATAGOUV_API: `${server.url}/api` });
    server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: server.local(irigo) });
    for (const r of JSON.parse(irigo).resources as { url: string; title: string }[])
      server.routes.set(new URL(r.url).pathname, { body: `contenu de ${r.title}` });
  });
  afterAll(async () => {
    await server.close();
    await db.cleanup();
  });

  test('asks the API, downloads the newest matching resource, says which and which edition', async () => {
    const { files, missing } = await resolve();
    expect(missing).toEqual([]);
    const f = files.get('horaires')!;
    expect(f).toMatchObject({
      origin: 'download',
      edition: '20170129',
      editionFrom: 'title',
      url: `${server.url}/s/resources/horaires-et-arrets-du-reseau-irigo-format-gtfs/20170130-094427/Keolis_Irigo_Angers_20170129-20170409.zip`,
      upstream: {
        dataset: IRIGO,
        datasetId: '5387f0a0a3a7291cb367549e',
        resourceId: 'd97edd33-52fa-4765-a1d7-2784b26cb0ca',
        title: 'Keolis_Irigo_Angers_20170129-20170409.zip',
        page: `${server.url}/fr/datasets/${IRIGO}/`,
        checksum: { type: 'sha1', value: '0607a2dc4d826d0901dac5dcb69c1a0555ab78cf' },
      },
    });
    expect(fs.readFileSync(f.path, 'utf8')).toBe('contenu de Keolis_Irigo_Angers_20170129-20170409.zip');
    expect(path.relative(settings.DATA_DIR, f.path)).toBe('raw/essai/horaires/Keolis_Irigo_Angers_20170129-20170409.zip');
    expect(logs.join('\n')).toMatch(
      /data\.gouv\.fr horaires-et-arrets-du-reseau-irigo-format-gtfs → 'Keolis_Irigo_Angers_20170129-20170409\.zip' \(edition 20170129\), latest of 6 matching/,
    );
  });

  test('a new edition published upstream is taken at the next run, without a code change', async () => {
    const answer = JSON.parse(server.local(irigo));
    const newer = {
      ...answer.resources[0],
      id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      title: 'Keolis_Irigo_Angers_20170410-20170702.zip',
      url: `${server.url}/s/resources/${IRIGO}/20170405-101010/Keolis_Irigo_Angers_20170410-20170702.zip`,
      last_modified: '2017-04-05T10:10:10.000000',
    };
    server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: JSON.stringify({ ...answer, resources: [newer, ...answer.resources] }) });
    server.routes.set(new URL(newer.url).pathname, { body: 'printemps 2017' });
    try {
      const f = (await resolve()).files.get('horaires')!;
      expect([f.edition, f.upstream?.resourceId, fs.readFileSync(f.path, 'utf8')]).toEqual(['20170410', newer.id, 'printemps 2017']);
    } finally {
      server.routes.set(`/api/1/datasets/${IRIGO}/`, { json: server.local(irigo) });
    }
  });

  test('the API unreachable: the declared URL is the fallback; a dataset that does not exist is missing, with the reason', async () => {
    const down = parseSettings({
      ...db.env,
      NETWORK: 'auto',
      MIRROR_DIR: '',
      DATA_DIR: settings.DATA_DIR,
      DATAGOUV_API: 'http://127.0.0.1:9/api',
    });
    const src = declaration({ url: `${server.url}/s/resources/${IRIGO}/20170130-094427/Keolis_Irigo_Angers_20170129-20170409.zip` });
    const { files } = await resolveResources(pool(), down, src, { progress: silentProgress, log: (m) => logs.push(m) });
    expect(files.get('horaires')).toMatchObject({ origin: expect.stringMatching(/download|not-modified/), upstream: undefined });
    expect(logs.join('\n')).toMatch(/data\.gouv\.fr API unavailable .*trying the declared URL/);

    const { files: none, missing } = await resolve(declaration({ datagouv: { dataset: 'n-existe-pas', title: 'x' } }));
    expect(none.size).toBe(0);
    expect(missing[0]).toMatch(/^horaires \(looked for horaires\.zip in MIRROR_DIR=\(unset\); .*n-existe-pas\/: HTTP 404/);
  });

  test('a conditional GET: the same resource again is not downloaded twice', async () => {
    const first = (await resolve()).files.get('horaires')!;
    // The runner records provenance; the next resolve finds its ETag there.
    await pool().query(
      `insert into provenance (source, resource, origin, url, path, etag, sha256, bytes) values ('essai', 'horaires', 'download', $1, $2, $3, $4, $5)`,
      [first.url, first.path, first.etag, first.sha256, first.bytes],
    );
    const again = (await resolve()).files.get('horaires')!;
    expect(again).toMatchObject({ origin: 'not-modified', sha256: first.sha256, edition: '20170129' });
  });

  test("a direct URL whose edition is its upload day: read from the download's Last-Modified, not from the local file", async () => {
    server.routes.set('/data/ban/adresses/latest/csv/adresses-35.csv.gz', {
      body: 'id;numero',
      headers: { 'last-modified': 'Mon, 03 Jun 2024 02:15:00 GMT' },
    });
    const src = declaration({
      name: 'dep-35',
      datagouv: undefined,
      url: `${server.url}/data/ban/adresses/latest/csv/adresses-35.csv.gz`,
      edition: { from: 'last_modified' },
    });
    const f = (await resolve(src)).files.get('dep-35')!;
    expect([f.origin, f.edition, f.editionFrom, f.lastModified]).toEqual([
      'download',
      '2024-06-03',
      'last_modified',
      'Mon, 03 Jun 2024 02:15:00 GMT',
    ]);
    // The same file copied by hand states nothing: the local file's date is never taken.
    fs.utimesSync(f.path, new Date('2030-01-01'), new Date('2030-01-01'));
    const copied = (await resolve(src, { file: f.path, resource: 'dep-35' })).files.get('dep-35')!;
    expect([copied.origin, copied.edition]).toEqual(['file', null]);
  });

  test('--millesime states the edition of every file of the run', async () => {
    const f = (await resolve(declaration(), { millesime: '2017-hiver' })).files.get('horaires')!;
    expect([f.edition, f.editionFrom]).toEqual(['2017-hiver', 'operator (--millesime)']);
  });
});
