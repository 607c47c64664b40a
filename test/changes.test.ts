import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import FeedParser from 'feedparser';
import { z } from 'zod';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { readManifest } from '../src/packs/store';
import { settings } from '../config/settings';
import { buildServer } from '../src/server/app';
import { buildCatalogPage } from '../src/catalog/build';
import { toJsonLd } from '../src/catalog/rdf';
import { invalidateReferential } from '../src/communes/referential';
import { resetDataStamp } from '../src/server/http/cache';

/**
 * changes.json and the change feeds on a genuine BAN extract (test/fixtures/ban/real, Paris 12e and 1er):
 * a renamed address, a new address, a removed address, a renamed street, each loaded as a new BAN file.
 */
const REAL = path.join(__dirname, 'fixtures', 'ban', 'real', 'adresses-75.csv');
const LINES = fs.readFileSync(REAL, 'utf8').split('\n').filter(Boolean);
const startsWithId = (id: string) => (l: string) => l.split(';')[0] === id;
const HEADER = LINES[0].split(';');
const col = (name: string) => HEADER.indexOf(name);
const RENAMED = '75112_v3t3wd_00002';
const NEW_ADDRESS = '75112_r173_00030'; // 30 Cour du Ponant: absent from the first load, added later
const REMOVED = '75112_v3t3wd_00020';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-changes-'));

/** Loads the BAN file made of these lines (the header first), as the département file of Paris. */
async function loadBan(lines: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(tmp, 'v-'));
  const file = path.join(dir, 'adresses-75.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const r = await runSource('ban', { file, millesime: '2024-06-01', trigger: 'test', log: () => undefined });
  expect(r.status).toBe('succeeded');
}

function edit(lines: string[], id: string, column: string, value: string): string[] {
  return lines.map((l) => {
    const f = l.split(';');
    if (f[0] !== id) return l;
    f[col(column)] = value;
    return f.join(';');
  });
}

const changesOf = async (code: string) => {
  const m = readManifest(settings().PACKS_DIR, code)!;
  const files = await unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
  return JSON.parse(files.get('changes.json')!.toString('utf8'));
};

async function build(): Promise<void> {
  const r = await buildPacks({ communes: ['75112', '75101', '75056'], log: () => undefined });
  expect(r.failed).toBe(0);
}

/** Parses a feed with feedparser (sax, strict): rejects what is not a well-formed Atom/RSS feed. */
async function parseFeed(xml: string): Promise<{ meta: FeedParser.Meta; items: FeedParser.Item[] }> {
  return new Promise((resolve, reject) => {
    const parser = new FeedParser({ strict: true });
    const items: FeedParser.Item[] = [];
    parser.on('error', reject);
    parser.on('readable', () => {
      let it: FeedParser.Item | null;
      while ((it = parser.read())) items.push(it);
    });
    parser.on('end', () => resolve({ meta: parser.meta, items }));
    Readable.from([xml]).pipe(parser);
  });
}

/** JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): the members this server writes. */
const JsonFeed = z.object({
  version: z.literal('https://jsonfeed.org/version/1.1'),
  title: z.string().min(1),
  home_page_url: z.string().url(),
  feed_url: z.string().url(),
  next_url: z.string().url().optional(),
  language: z.literal('fr'),
  authors: z.array(z.object({ name: z.string() })).min(1),
  items: z.array(
    z.object({
      id: z.string().min(1),
      url: z.string().url(),
      title: z.string(),
      summary: z.string().min(1),
      content_text: z.string().min(1),
      date_published: z.string().datetime(),
      attachments: z.array(z.object({ url: z.string().url(), mime_type: z.string(), size_in_bytes: z.number().int().positive() })).min(1),
      _dotation: z.object({ code: z.string(), version: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    }),
  ),
});

beforeAll(async () => {
  db = await freshDatabase({ PUBLISHER_NAME: 'Région Exemple' });
  await runSource('populations', { trigger: 'test', log: () => undefined }); // embedded default
  // First load: every genuine line but one address of Cour du Ponant.
  await loadBan(LINES.filter((l) => !startsWithId(NEW_ADDRESS)(l)));
  await build();
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

describe('changes.json on the genuine BAN of Paris', () => {
  let current = LINES.filter((l) => !startsWithId(NEW_ADDRESS)(l));

  test('the first version says so', async () => {
    const c = await changesOf('75112');
    expect(c).toMatchObject({ premiereVersion: true, versionPrecedente: null, resume: 'Première version du dossier de données.' });
  });

  test('a renamed address: 1 modified, 0 added, 0 removed, the column named; no file called added', async () => {
    const v1 = readManifest(settings().PACKS_DIR, '75112')!;
    current = edit(current, RENAMED, 'nom_voie', "Avenue de l'École de Joinville");
    await loadBan(current);
    await build();
    const v2 = readManifest(settings().PACKS_DIR, '75112')!;
    expect(v2.versions[1].version).toBe(v1.latest);
    const c = await changesOf('75112');
    // Every file of version 1 is still there: none is added or removed.
    expect(c.fichiers.ajoutes).toEqual([]);
    expect(c.fichiers.retires).toEqual([]);
    expect(v1.versions[0].files.map((f) => f.name)).toEqual(expect.arrayContaining(['LISEZMOI.md', 'commune.json', 'adresses.geojson']));
    expect(c.fichiers.modifies).toEqual(expect.arrayContaining(['adresses.csv', 'adresses.geojson']));
    expect(c.tables).toHaveLength(1);
    expect(c.tables[0]).toEqual({
      fichier: 'adresses.csv',
      clePrimaire: ['id'],
      lignesAjoutees: 0,
      lignesRetirees: 0,
      lignesModifiees: 1,
      colonnesModifiees: { nom_voie: 1 },
      exemples: {
        ajoutees: [],
        retirees: [],
        modifiees: [
          {
            cle: { id: RENAMED },
            colonnes: { nom_voie: { avant: "Avenue de l'Ecole de Joinville", apres: "Avenue de l'École de Joinville" } },
          },
        ],
      },
    });
    expect(c.resume).toBe('1 adresse modifiée (nom_voie).');
    // Paris (the commune) holds the same address: the same verdict.
    expect((await changesOf('75056')).tables[0]).toMatchObject({ lignesModifiees: 1, lignesAjoutees: 0, lignesRetirees: 0 });
    // The 1er arrondissement did not change: no new version.
    expect(readManifest(settings().PACKS_DIR, '75101')!.versions).toHaveLength(1);
  });

  test('the datapackage declares the primary key the rows were compared by', async () => {
    const m = readManifest(settings().PACKS_DIR, '75112')!;
    const dp = JSON.parse(
      (await unzip(path.join(settings().PACKS_DIR, '75112', m.versions[0].file))).get('datapackage.json')!.toString('utf8'),
    );
    const res = dp.resources.find((r: { path: string }) => r.path === 'adresses.csv');
    expect(res.schema.primaryKey).toEqual(['id']);
  });

  test('a new address is added, a removed address is removed', async () => {
    const line = LINES.find((l) => startsWithId(NEW_ADDRESS)(l))!;
    const at = current.findIndex((l) => startsWithId('75112_r173_00024')(l)); // its place in the genuine file
    expect(at).toBeGreaterThan(0);
    current = [...current.slice(0, at + 1), line, ...current.slice(at + 1)];
    await loadBan(current);
    await build();
    let c = await changesOf('75112');
    expect(c.tables[0]).toMatchObject({
      lignesAjoutees: 1,
      lignesRetirees: 0,
      lignesModifiees: 0,
      exemples: { ajoutees: [{ id: NEW_ADDRESS }] },
    });
    expect(c.resume).toBe('1 adresse ajoutée.');

    current = current.filter((l) => !startsWithId(REMOVED)(l));
    await loadBan(current);
    await build();
    c = await changesOf('75112');
    expect(c.tables[0]).toMatchObject({
      lignesAjoutees: 0,
      lignesRetirees: 1,
      lignesModifiees: 0,
      exemples: { retirees: [{ id: REMOVED }] },
    });
    expect(c.resume).toBe('1 adresse retirée.');
    expect(c.fichiers).toMatchObject({ ajoutes: [], retires: [] });
  });

  test('a renamed street: each of its addresses modified, name and AFNOR name counted', async () => {
    const descos = current.filter((l) => l.includes(';Rue Descos;')).map((l) => l.split(';')[0]);
    expect(descos).toHaveLength(3);
    for (const id of descos) {
      current = edit(current, id, 'nom_voie', 'Rue Renée Descos');
      current = edit(current, id, 'nom_afnor', 'RUE RENEE DESCOS');
    }
    await loadBan(current);
    await build();
    const c = await changesOf('75112');
    expect(c.tables[0]).toMatchObject({
      lignesAjoutees: 0,
      lignesRetirees: 0,
      lignesModifiees: 3,
      colonnesModifiees: { nom_voie: 3, nom_afnor: 3 },
    });
    expect(c.resume).toBe('3 adresses modifiées (nom_voie, nom_afnor).');
  });
});

describe('change feeds', () => {
  test('/communes/75112/changes.atom is Atom (feedparser) and its newest entry names the change in French', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/75112/changes.atom' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const feed = await parseFeed(res.body);
    expect(feed.meta['#type']).toBe('atom');
    const m = readManifest(settings().PACKS_DIR, '75112')!;
    expect(feed.items).toHaveLength(m.versions.length);
    const newest = feed.items[0];
    expect(newest.summary).toBe('3 adresses modifiées (nom_voie, nom_afnor).');
    expect(newest.title).toBe(`Paris 12e Arrondissement (75112) : version ${m.latest}`);
    expect(newest.link).toBe(`${settings().PUBLIC_BASE_URL}/communes/75112/pack/${m.latest}.zip`);
    expect(newest.description).toContain(`SHA-256 : ${m.versions[0].sha256}`);
    expect(newest.enclosures[0]).toMatchObject({ type: 'application/zip', length: String(m.versions[0].bytes) });
    expect(feed.items.at(-1)!.summary).toBe('Première version du dossier de données.');
    const again = await app.inject({
      method: 'GET',
      url: '/communes/75112/changes.atom',
      headers: { 'if-none-match': res.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
  });

  test('the JSON Feed 1.1 of the commune holds the same entries', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/75112/changes.feed.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/feed+json; charset=utf-8');
    const f = JsonFeed.parse(res.json());
    const m = readManifest(settings().PACKS_DIR, '75112')!;
    expect(f.items.map((i) => i._dotation.version)).toEqual(m.versions.map((v) => v.version));
    expect(f.items[0]._dotation.sha256).toBe(m.versions[0].sha256);
    expect(f.items[0].summary).toBe('3 adresses modifiées (nom_voie, nom_afnor).');
  });

  test('the national feed lists every new version newest first, paged with next links', async () => {
    const all: FeedParser.Item[] = [];
    let url: string | undefined = '/changes.atom?par_page=3';
    let pages = 0;
    while (url) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const feed = await parseFeed(res.body);
      all.push(...feed.items);
      const next = (feed.meta as unknown as { 'atom:link'?: { '@': { rel: string; href: string } }[] })['atom:link']?.find(
        (l) => l['@'].rel === 'next',
      );
      url = next ? next['@'].href.replace(settings().PUBLIC_BASE_URL, '') : undefined;
      pages++;
    }
    // 75112 and 75056: 5 versions each; 75101: 1.
    expect(all).toHaveLength(11);
    expect(pages).toBe(4);
    expect(new Set(all.map((i) => i.link)).size).toBe(11);
    expect(all[0].summary).toBe('3 adresses modifiées (nom_voie, nom_afnor).');
    // Newest build first (build ids begin with their start time), each build's communes together.
    const builds = all.map((i) => i.categories.find((c) => c.startsWith('build:'))!);
    expect(builds.every(Boolean)).toBe(true);
    expect([...builds].sort().reverse()).toEqual(builds);
    const json = JsonFeed.parse((await app.inject({ method: 'GET', url: '/changes.feed.json?par_page=10' })).json());
    expect(json.items).toHaveLength(10);
    expect(json.next_url).toMatch(/\/changes\.feed\.json\?avant=\d+&par_page=10$/);
    const rest = JsonFeed.parse((await app.inject({ method: 'GET', url: json.next_url!.replace(settings().PUBLIC_BASE_URL, '') })).json());
    expect(rest.items).toHaveLength(1);
    expect(rest.next_url).toBeUndefined();
  });

  test('unknown commune: 404 in French', async () => {
    const res = await app.inject({ method: 'GET', url: '/communes/99999/changes.atom' });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe('aucune commune de code 99999');
  });
});

describe('DCAT dct:modified', () => {
  test("is when each dataset's data last changed for the commune, not the build date", async () => {
    invalidateReferential();
    resetDataStamp();
    const m = readManifest(settings().PACKS_DIR, '75112')!;
    const first = m.versions.at(-1)!;
    const page = await buildCatalogPage({ code: '75112', page: 1, pageSize: 100, format: 'jsonld' });
    if ('error' in page) throw new Error(page.message);
    const doc = toJsonLd(page.graph) as { '@graph': Record<string, unknown>[] };
    const modifiedOf = (source: string) => {
      const ds = doc['@graph'].find((n) => typeof n['@id'] === 'string' && (n['@id'] as string).endsWith(`/id/communes/75112/${source}`))!;
      const v = ds['dct:modified'] ?? ds['modified'];
      return new Date(typeof v === 'object' && v ? (v as { '@value': string })['@value'] : String(v)).toISOString();
    };
    // The addresses changed in the last version; the populations never did since the first.
    const second = (iso: string) => iso.slice(0, 19); // xsd:dateTime to the second
    expect(second(modifiedOf('ban'))).toBe(second(m.versions[0].createdAt));
    expect(second(modifiedOf('populations'))).toBe(second(first.createdAt));
    expect(m.versions[0].createdAt.slice(0, 19)).not.toBe(first.createdAt.slice(0, 19));
    expect(m.versions[0].modified).toMatchObject({ ban: m.versions[0].createdAt, populations: first.createdAt });
  });
});
