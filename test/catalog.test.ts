import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import jsonld from 'jsonld';
import { Parser, Store, Quad, Term, Writer } from 'n3';
import { RdfXmlParser } from 'rdfxml-streaming-parser';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildServer } from '../src/server/app';
import { resetSettings, settings } from '../config/settings';
import { invalidateReferential } from '../src/communes/referential';
import { resetDataStamp } from '../src/server/http/cache';
import { buildCatalogPage } from '../src/catalog/build';
import { toJsonLd, toRdfXml, toTurtle } from '../src/catalog/rdf';

/**
 * The DCAT catalog as data.gouv.fr's harvester reads it (harvest-and-schemas.md §1.2, §5):
 * parsed with n3 (Turtle), jsonld (JSON-LD, remote contexts refused) and an RDF/XML parser,
 * every hydra:next followed, and the DCAT-AP 3 shapes (restated in test/fixtures/shacl) checked with SHACL.
 */
const DCAT = 'http://www.w3.org/ns/dcat#';
const DCT = 'http://purl.org/dc/terms/';
const HYDRA = 'http://www.w3.org/ns/hydra/core#';
const SPDX = 'http://spdx.org/rdf/terms#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const INSEE_RENNES = 'http://id.insee.fr/geo/commune/00000000-0000-4000-8000-000000035238';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let base: string;
let dep35: string[];

function manifest(code: string, version: string, createdAt: string) {
  const files = [
    { name: 'population.csv', bytes: 321, sha256: 'a'.repeat(63) + code.slice(-1) },
    { name: 'LISEZMOI.md', bytes: 2000, sha256: 'b'.repeat(64) },
  ];
  return {
    code,
    latest: version,
    seq: 2,
    versions: [
      {
        version,
        file: `${version}.zip`,
        sha256: 'c'.repeat(64),
        bytes: 4567,
        createdAt,
        dataHash: 'd'.repeat(64),
        millesime: '2026',
        files,
      },
    ],
  };
}
function writeManifest(code: string, version: string, createdAt: string) {
  const dir = path.join(settings().PACKS_DIR, code);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(manifest(code, version, createdAt)));
}

const PUBLISHER = { name: 'Région Exemple', url: 'https://www.region-exemple.fr/' };

beforeAll(async () => {
  db = await freshDatabase({ PUBLISHER_NAME: PUBLISHER.name, PUBLISHER_URL: PUBLISHER.url });
  // INSEE URIs from a saved Metadata API answer (synthetic fixture in the upstream format), through the cog source.
  await runSource('cog', {
    file: path.join(__dirname, 'fixtures', 'cog', 'insee-geo-communes.json'),
    trigger: 'test',
    log: () => undefined,
  });
  await runSource('populations', { trigger: 'test', log: () => undefined });
  base = settings().PUBLIC_BASE_URL.replace(/\/$/, '');
  // Packs "built" for every commune of Ille-et-Vilaine: pack_builds rows and manifests as src/packs/store.ts writes them.
  dep35 = (await pool().query(`select code from communes where departement = '35' and type = 'commune-actuelle' order by code`)).rows.map(
    (r) => r.code,
  );
  await pool().query(
    `insert into pack_builds (code, fingerprint, version, sha256, bytes, millesime, built_at, donnees)
                      select c, 'fp', '2026.1', repeat('c', 64), 4567, '2026', now() - interval '1 hour',
                             '{"populations": {"millesime": "2021", "lignes": {"population.csv": 1}}}'::jsonb from unnest($1::text[]) c`,
    [dep35],
  );
  for (const c of dep35) writeManifest(c, '2026.1', new Date(Date.now() - 3600_000).toISOString());
  const box = `st_multi(st_geomfromtext('POLYGON((-1.75 48.08,-1.62 48.08,-1.62 48.14,-1.75 48.14,-1.75 48.08))', 4326))`;
  await pool().query(
    `insert into commune_contours (code_commune, nom, departement, geom, geom_simple, cog, codes_sources, fichier) values ('35238', 'Rennes', '35', ${box}, ${box}, 2026, '{35238}', 'test')`,
  );
  invalidateReferential();
  app = await buildServer();
});
afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

const local = (u: string) => {
  const x = new URL(u);
  return x.pathname + x.search;
};
async function fetchPage(url: string) {
  const r = await app.inject({ method: 'GET', url: local(url), headers: { 'user-agent': 'uData/0.1 dcat' } });
  return r;
}
/** JSON-LD → quads with every remote context refused. */
async function jsonldQuads(body: string): Promise<Quad[]> {
  const documentLoader = async (u: string) => {
    throw new Error(`remote context fetched: ${u}`);
  };
  const nq = (await jsonld.toRDF(JSON.parse(body), {
    format: 'application/n-quads',
    documentLoader,
  } as jsonld.Options.ToRdf)) as unknown as string;
  return new Parser({ format: 'N-Quads' }).parse(nq);
}
function rdfXmlQuads(body: string): Promise<Quad[]> {
  return new Promise((resolve, reject) => {
    const out: Quad[] = [];
    const p = new RdfXmlParser();
    p.on('data', (q: Quad) => out.push(q))
      .on('error', reject)
      .on('end', () => resolve(out));
    p.write(body);
    p.end();
  });
}
type Subject = string | Term | null;
const objects = (s: Store, subj: Subject, pred: string) => s.getObjects(subj as Term, pred, null);
const one = (s: Store, subj: Subject, pred: string) => {
  const o = objects(s, subj, pred);
  const label = typeof subj === 'string' ? subj : subj?.value;
  expect([label, pred, o.length]).toEqual([label, pred, 1]);
  return o[0];
};
/** Triples with blank nodes replaced by a marker, sorted: equal sets ≈ isomorphic graphs here (no bnode-only ambiguity checked). */
const shape = (qs: Quad[]) =>
  qs
    .map((q) =>
      [q.subject, q.predicate, q.object]
        .map((t) =>
          t.termType === 'BlankNode'
            ? '_'
            : t.termType === 'Literal'
              ? `"${t.value}"@${(t as { language?: string }).language}^${(t as { datatype?: { value: string } }).datatype?.value}`
              : t.value,
        )
        .join(' '),
    )
    .sort();

describe('national catalog', () => {
  test('every hydra:next is followed: 200, no redirect, one view per page, all datasets exactly once', async () => {
    let url: string | undefined = `${base}/catalog.jsonld?page_size=60`;
    const seen = new Set<string>();
    let pages = 0;
    let total = -1;
    while (url) {
      const r = await fetchPage(url);
      expect([url, r.statusCode]).toEqual([url, 200]);
      expect(r.headers['content-type']).toMatch(/^application\/ld\+json/);
      const store = new Store(await jsonldQuads(r.body));
      const views = store.getSubjects(RDF_TYPE, `${HYDRA}PartialCollectionView`, null);
      expect(views).toHaveLength(1);
      total = Number(one(store, `${base}/catalog`, `${HYDRA}totalItems`).value);
      for (const d of store.getSubjects(RDF_TYPE, `${DCAT}Dataset`, null)) {
        expect(seen.has(d.value)).toBe(false);
        seen.add(d.value);
        // A dataset's distributions are on its page.
        for (const dist of objects(store, d.value, `${DCAT}distribution`))
          expect(store.getQuads(dist, `${DCAT}downloadURL`, null, null)).toHaveLength(1);
      }
      const next = objects(store, views[0].value, `${HYDRA}next`);
      url = next[0]?.value;
      pages++;
      expect(pages).toBeLessThan(50);
    }
    // One dataset per commune (its pack, the populations file among its distributions), 60 per page.
    expect(total).toBe(dep35.length);
    expect(seen.size).toBe(total);
    expect([...seen].every((d) => d.endsWith('/pack'))).toBe(true);
    expect(pages).toBe(Math.ceil(dep35.length / 60));
    expect((await fetchPage(`${base}/catalog.jsonld?page=${pages + 1}&page_size=60`)).statusCode).toBe(404);
    expect((await fetchPage(`${base}/catalog.jsonld?page_size=500`)).statusCode).toBe(400);
  });

  test('Turtle, JSON-LD and RDF/XML carry the same triples; HEAD answers 200', async () => {
    const [j, t, x] = await Promise.all(['jsonld', 'ttl', 'rdf'].map((f) => fetchPage(`${base}/catalog.${f}?page=2`)));
    expect(t.headers['content-type']).toMatch(/^text\/turtle/);
    expect(x.headers['content-type']).toMatch(/^application\/rdf\+xml/);
    const jq = await jsonldQuads(j.body);
    const tq = new Parser({ format: 'Turtle' }).parse(t.body);
    const xq = await rdfXmlQuads(x.body);
    // The page IRIs differ by extension: normalise them.
    const norm = (qs: Quad[]) => shape(qs).map((s) => s.replace(/catalog\.(jsonld|ttl|rdf)\?/g, 'catalog.X?'));
    expect(norm(tq)).toEqual(norm(jq));
    expect(norm(xq)).toEqual(norm(jq));
    expect(jq.length).toBeGreaterThan(100);
    for (const f of ['jsonld', 'ttl', 'rdf']) {
      const h = await app.inject({ method: 'HEAD', url: `/catalog.${f}` });
      expect(h.statusCode).toBe(200);
    }
  });

  test('Rennes: the fields udata reads (§1.2)', async () => {
    const r = await fetchPage(`${base}/communes/35238/catalog.ttl`);
    expect(r.statusCode).toBe(200);
    const store = new Store(new Parser({ format: 'Turtle' }).parse(r.body));
    const datasets = store
      .getSubjects(RDF_TYPE, `${DCAT}Dataset`, null)
      .map((d) => d.value)
      .sort();
    expect(datasets).toEqual([`${base}/id/communes/35238/pack`, `${base}/id/communes/35238/populations`]);
    const ds = `${base}/id/communes/35238/populations`;
    expect(one(store, ds, `${DCT}identifier`).value).toBe(ds);
    const title = one(store, ds, `${DCT}title`);
    expect(title.value).toMatch(/Rennes \(35238\)/);
    expect((title as { language?: string }).language).toBe('fr');
    expect(one(store, ds, `${DCT}description`).value.length).toBeGreaterThan(20);
    expect(one(store, ds, `${DCT}license`).value).toBe('https://www.etalab.gouv.fr/licence-ouverte-open-licence');
    expect(objects(store, ds, `${DCAT}keyword`).length).toBeGreaterThan(0);
    for (const p of ['issued', 'modified']) {
      const d = one(store, ds, `${DCT}${p}`);
      expect(d.value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect((d as { datatype: { value: string } }).datatype.value).toBe(`${XSD}dateTime`);
      expect(Date.parse(d.value)).toBeLessThanOrEqual(Date.now());
    }
    expect(one(store, ds, `${DCT}issued`).value <= one(store, ds, `${DCT}modified`).value).toBe(true);
    const spatial = objects(store, ds, `${DCT}spatial`);
    expect(spatial.map((s) => s.value)).toContain(INSEE_RENNES);
    const loc = spatial.find((s) => s.termType === 'BlankNode')!;
    const bbox = one(store, loc, `${DCAT}bbox`);
    expect(bbox.value).toMatch(/^POLYGON\(\(-1\.75 48\.08,.*-1\.75 48\.08\)\)$/);
    expect((bbox as { datatype: { value: string } }).datatype.value).toBe('http://www.opengis.net/ont/geosparql#wktLiteral');
    const temporal = one(store, ds, `${DCT}temporal`);
    expect(temporal.termType).toBe('BlankNode');
    expect(one(store, temporal, `${DCAT}startDate`).value).toMatch(/^\d{4}-01-01$/);
    // The edition the run loaded (published_datasets), stated as dcat:version and in the French description.
    const { rows: published } = await pool().query(`select millesime from published_datasets where source = 'populations'`);
    expect(published).toHaveLength(1);
    expect(one(store, ds, `${DCAT}version`).value).toBe(published[0].millesime);
    expect(one(store, ds, `${DCT}description`).value).toContain(`Édition des données : ${published[0].millesime}.`);

    const dists = objects(store, ds, `${DCAT}distribution`);
    expect(dists).toHaveLength(1);
    const dist = dists[0].value;
    expect(one(store, dist, `${DCAT}downloadURL`).value).toBe(`${base}/communes/35238/fichiers/population.csv`);
    expect(one(store, dist, `${DCAT}accessURL`).value).toBe(`${base}/communes/35238/fichiers/population.csv`);
    expect(one(store, dist, `${DCT}format`).value).toBe('http://publications.europa.eu/resource/authority/file-type/CSV');
    expect(one(store, dist, `${DCAT}mediaType`).value).toBe('https://www.iana.org/assignments/media-types/text/csv');
    const size = one(store, dist, `${DCAT}byteSize`);
    expect(size.value).toBe('321');
    expect((size as { datatype: { value: string } }).datatype.value).toBe(`${XSD}nonNegativeInteger`);
    const ck = one(store, dist, `${SPDX}checksum`);
    expect(one(store, ck, `${SPDX}algorithm`).value).toBe(`${SPDX}checksumAlgorithm_sha256`);
    const value = one(store, ck, `${SPDX}checksumValue`);
    expect(value.value).toBe('a'.repeat(63) + '8');
    expect((value as { datatype: { value: string } }).datatype.value).toBe(`${XSD}string`);
    // The pack dataset: the ZIP with its checksum.
    const packDist = objects(store, `${base}/id/communes/35238/pack`, `${DCAT}distribution`)[0].value;
    expect(one(store, packDist, `${DCAT}downloadURL`).value).toBe(`${base}/communes/35238/pack.zip`);
    expect(one(store, one(store, packDist, `${SPDX}checksum`), `${SPDX}checksumValue`).value).toBe('c'.repeat(64));
    // A catalog of an unknown commune.
    expect((await fetchPage(`${base}/communes/99999/catalog.jsonld`)).statusCode).toBe(404);
  });

  test('dct:spatial: the INSEE URI of the version valid for the COG, from the cog source; none when unknown', async () => {
    const spatialIris = async (code: string) => {
      const store = new Store(new Parser().parse((await fetchPage(`${base}/communes/${code}/catalog.ttl`)).body));
      return store
        .getObjects(`${base}/id/communes/${code}/pack`, `${DCT}spatial`, null)
        .filter((o) => o.termType === 'NamedNode')
        .map((o) => o.value);
    };
    expect(await spatialIris('35238')).toEqual([INSEE_RENNES]);
    // 35062 has two versions in the file: the commune nouvelle of 2024-01-01 is the one of the COG.
    expect(await spatialIris('35062')).toEqual(['http://id.insee.fr/geo/commune/00000000-0000-4000-8000-000002035062']);
    // Not in the file: no INSEE IRI (the bbox blank node stays the only spatial, when there is a contour).
    expect(await spatialIris('35001')).toEqual([]);
    const { rows } = await pool().query(`select level, code from insee_geo_uri order by level, code`);
    expect(rows).toEqual([
      { level: 'fr:commune', code: '35062' },
      { level: 'fr:commune', code: '35238' },
      { level: 'fr:commune', code: '75101' },
    ]);
  });

  test('identifiers and download URLs are stable across builds; modified follows the content', async () => {
    const before = new Store(new Parser().parse((await fetchPage(`${base}/communes/35001/catalog.ttl`)).body));
    writeManifest('35001', '2026.2', new Date().toISOString());
    await pool().query(`update pack_builds set version = '2026.2', built_at = now() where code = '35001'`);
    const after = new Store(new Parser().parse((await fetchPage(`${base}/communes/35001/catalog.ttl`)).body));
    const urls = (s: Store) =>
      s
        .getObjects(null, `${DCAT}downloadURL`, null)
        .map((o) => o.value)
        .sort();
    const ids = (s: Store) =>
      s
        .getObjects(null, `${DCT}identifier`, null)
        .map((o) => o.value)
        .sort();
    expect(urls(after)).toEqual(urls(before));
    expect(ids(after)).toEqual(ids(before));
    expect(urls(after).some((u) => /2026\.\d/.test(u))).toBe(false);
    // The section dataset's modified is its source's publication: unchanged by a rebuild.
    const pop = `${base}/id/communes/35001/populations`;
    expect(after.getObjects(pop, `${DCT}modified`, null)[0].value).toBe(before.getObjects(pop, `${DCT}modified`, null)[0].value);
  });

  test('pages are cached: the bytes of a fresh rendering, ETag and 304; a new build shows once the stamp is read again', async () => {
    for (const [format, ser] of [
      ['jsonld', async (g: never) => JSON.stringify(toJsonLd(g))],
      ['ttl', toTurtle],
      ['rdf', toRdfXml],
    ] as const) {
      const url = `/communes/35002/catalog.${format}?page=1`;
      const a = await app.inject({ method: 'GET', url });
      const b = await app.inject({ method: 'GET', url });
      expect(b.body).toBe(a.body);
      const fresh = await buildCatalogPage({ code: '35002', page: 1, pageSize: 100, format });
      if ('error' in fresh) throw new Error(fresh.message);
      expect(a.body).toBe(await ser(fresh.graph as never));
      expect(a.headers.etag).toMatch(/^"[\w-]+"$/);
      expect(b.headers.etag).toBe(a.headers.etag);
      expect(a.headers['cache-control']).toBe('public, max-age=300');
      const nm = await app.inject({ method: 'GET', url, headers: { 'if-none-match': `W/${a.headers.etag}, "other"` } });
      expect(nm.statusCode).toBe(304);
      expect(nm.body).toBe('');
    }
    const before = await app.inject({ method: 'GET', url: '/communes/35002/catalog.ttl' });
    writeManifest('35002', '2026.3', new Date(Date.now() + 1000).toISOString());
    await pool().query(`update pack_builds set version = '2026.3', built_at = now(), checked_at = now() where code = '35002'`);
    resetDataStamp();
    const after = await app.inject({ method: 'GET', url: '/communes/35002/catalog.ttl' });
    expect(after.body).not.toBe(before.body);
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });

  test('DCAT-AP 3 shapes (restated, test/fixtures/shacl): no violation but the listed deviations', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-shacl-'));
    // Every format, a national page and a commune page (checksums, INSEE URI, bbox), as udata parses them.
    const graphs: Record<string, Quad[]> = {
      'catalog.ttl?page=1': new Parser({ format: 'Turtle' }).parse((await fetchPage(`${base}/catalog.ttl?page=1`)).body),
      'catalog.jsonld?page=2': await jsonldQuads((await fetchPage(`${base}/catalog.jsonld?page=2`)).body),
      'communes/35238/catalog.ttl': new Parser({ format: 'Turtle' }).parse((await fetchPage(`${base}/communes/35238/catalog.ttl`)).body),
      'communes/35238/catalog.jsonld': await jsonldQuads((await fetchPage(`${base}/communes/35238/catalog.jsonld`)).body),
      'communes/35238/catalog.rdf': await rdfXmlQuads((await fetchPage(`${base}/communes/35238/catalog.rdf`)).body),
    };
    // The restated shapes cover the classes the catalog emits, and only those: a new class needs its shapes first.
    const types = new Set(
      Object.values(graphs).flatMap((qs) => qs.filter((x) => x.predicate.value === RDF_TYPE).map((x) => x.object.value)),
    );
    expect([...types].sort()).toEqual(COVERED_CLASSES.slice().sort());

    const files = Object.entries(graphs).map(([name, qs], i) => {
      const f = path.join(dir, `data-${i}.nt`);
      fs.writeFileSync(f, new Writer({ format: 'N-Triples' }).quadsToString(qs));
      return { name, file: f };
    });
    const reports = await shaclValidate(files.map((f) => f.file));
    const seen = new Set<string>();
    files.forEach(({ name }, i) => {
      const unexpected = reports[i].results.filter((r) => {
        const dev = ALLOWED_DEVIATIONS.find((d) => d.shape === r.shape && d.component === r.component);
        if (dev) seen.add(`${dev.shape} ${dev.component}`);
        return !dev;
      });
      expect([name, unexpected]).toEqual([name, []]);
    });
    // Each listed deviation does occur (the list does not outlive the reason for it).
    expect([...seen].sort()).toEqual(ALLOWED_DEVIATIONS.map((d) => `${d.shape} ${d.component}`).sort());
  });

  test('the restated shapes bite: a broken catalog is reported', async () => {
    const ttl = (await fetchPage(`${base}/communes/35238/catalog.ttl`)).body;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-shacl-'));
    const broken = {
      // No publisher on the catalog (mandatory).
      publisher: ttl.replace(/dct:publisher <[^>]+>/g, 'dct:creator <urn:x>'),
      // A licence that is not typed dct:LicenseDocument (range).
      licence: ttl.replace(/<https:\/\/www\.etalab\.gouv\.fr\/licence-ouverte-open-licence> a dct:LicenseDocument\s*\.\s*/, ''),
      // Two byte sizes on a distribution (cardinality).
      byteSize: ttl.replace(
        /dcat:byteSize "(\d+)"\^\^xsd:nonNegativeInteger/,
        'dcat:byteSize "$1"^^xsd:nonNegativeInteger, "1"^^xsd:nonNegativeInteger',
      ),
    };
    expect(broken.licence).not.toBe(ttl);
    expect(broken.byteSize).not.toBe(ttl);
    const files = Object.entries(broken).map(([k, body]) => {
      const f = path.join(dir, `${k}.ttl`);
      fs.writeFileSync(f, body);
      return f;
    });
    const [publisher, licence, byteSize] = await shaclValidate(files);
    const shapes = (r: ShaclReport) => new Set(r.results.map((x) => x.shape));
    expect([...shapes(publisher)]).toEqual(expect.arrayContaining([`${A300}Catalog-publisher`, `${A301}Catalog-publisher`]));
    expect([...shapes(licence)]).toEqual(expect.arrayContaining([`${R300}Distribution-license`, `${A301}Distribution-license`]));
    expect([...shapes(byteSize)]).toEqual(expect.arrayContaining([`${A300}Distribution-byteSize`, `${A301}Distribution-byteSize`]));
    expect(
      byteSize.results.some((r) => r.shape === `${A301}Distribution-byteSize` && r.component === `${SH}MaxCountConstraintComponent`),
    ).toBe(true);
  });
});

/**
 * Issue 12 ("DCAT"): the national catalog held one dataset per commune and per source, most of them
 * empty extracts; the publisher was "Opérateur de la dotation"; landingPage pointed to JSON; nothing
 * linked back to the national dataset.
 */
describe('DCAT as a good citizen', () => {
  const PROV = 'http://www.w3.org/ns/prov#';
  const FOAF = 'http://xmlns.com/foaf/0.1/';
  const ttl = async (url: string) => new Store(new Parser({ format: 'Turtle' }).parse((await fetchPage(url)).body));

  test('the publisher is the one of settings (name and IRI), on the catalog and on every dataset', async () => {
    for (const url of [`${base}/catalog.ttl?page=1`, `${base}/communes/35238/catalog.ttl`]) {
      const store = await ttl(url);
      const catalog = url.includes('/communes/') ? `${base}/communes/35238/catalog` : `${base}/catalog`;
      expect(one(store, catalog, `${DCT}publisher`).value).toBe(PUBLISHER.url);
      expect(one(store, PUBLISHER.url, `${FOAF}name`).value).toBe(PUBLISHER.name);
      for (const d of store.getSubjects(RDF_TYPE, `${DCAT}Dataset`, null).filter((x) => x.value.includes('/id/communes/')))
        expect(one(store, d, `${DCT}publisher`).value).toBe(PUBLISHER.url);
      expect(store.getQuads(null, `${FOAF}name`, null, null).map((q) => q.object.value)).not.toContain('Opérateur de la dotation');
    }
  });

  test('without PUBLISHER_NAME the catalogs answer 503 in French instead of naming a publisher that does not exist', async () => {
    const saved = process.env.PUBLISHER_NAME;
    delete process.env.PUBLISHER_NAME;
    resetSettings();
    try {
      const out = await buildCatalogPage({ page: 1, pageSize: 100, format: 'ttl' });
      expect(out).toMatchObject({ error: 503 });
      expect((out as { message: string }).message).toMatch(/PUBLISHER_NAME/);
    } finally {
      process.env.PUBLISHER_NAME = saved;
      resetSettings();
    }
  });

  test('dcat:landingPage is the commune’s HTML page; dct:source and prov:wasDerivedFrom name the national dataset', async () => {
    const store = await ttl(`${base}/communes/35238/catalog.ttl`);
    const pop = `${base}/id/communes/35238/populations`;
    expect(one(store, pop, `${DCAT}landingPage`).value).toBe(`${base}/communes/35238/page#populations`);
    expect(one(store, `${base}/id/communes/35238/pack`, `${DCAT}landingPage`).value).toBe(`${base}/communes/35238/page`);
    // The INSEE page of the populations légales declared by pipelines/populations/source.ts.
    expect(one(store, pop, `${DCT}source`).value).toBe('https://www.insee.fr/fr/statistiques/7739582');
    expect(one(store, pop, `${PROV}wasDerivedFrom`).value).toBe('https://www.insee.fr/fr/statistiques/7739582');
    // The pack is derived from the national datasets of the sources it holds.
    expect(objects(store, `${base}/id/communes/35238/pack`, `${DCT}source`).map((o) => o.value)).toEqual([
      'https://www.insee.fr/fr/statistiques/7739582',
    ]);
    expect(store.getObjects(null, `${DCAT}landingPage`, null).every((o) => !/\.json|\/pack$/.test(o.value))).toBe(true);
  });

  test('no dataset without a file or with an empty file: a source with no row for the commune, an empty file, an unbuilt pack', async () => {
    // 35003: its pack holds no population.csv (the builder ships no empty file, and pack_builds.donnees says so).
    await pool().query(`update pack_builds set donnees = '{}'::jsonb where code = '35003'`);
    const m = manifest('35003', '2026.1', new Date(Date.now() - 3600_000).toISOString());
    m.versions[0].files = m.versions[0].files.filter((f) => f.name !== 'population.csv');
    fs.writeFileSync(path.join(settings().PACKS_DIR, '35003', 'latest.json'), JSON.stringify(m));
    // 35004: population.csv listed with 0 bytes.
    const e = manifest('35004', '2026.1', new Date(Date.now() - 3600_000).toISOString());
    e.versions[0].files[0].bytes = 0;
    fs.writeFileSync(path.join(settings().PACKS_DIR, '35004', 'latest.json'), JSON.stringify(e));
    // 35005: a pack_builds row whose manifest is gone: nothing downloadable, so nothing catalogued.
    fs.rmSync(path.join(settings().PACKS_DIR, '35005'), { recursive: true, force: true });
    resetDataStamp();
    const datasets = async (code: string) =>
      (await ttl(`${base}/communes/${code}/catalog.ttl`))
        .getSubjects(RDF_TYPE, `${DCAT}Dataset`, null)
        .map((d) => d.value)
        .filter((d) => d.includes('/id/'))
        .sort();
    expect(await datasets('35003')).toEqual([`${base}/id/communes/35003/pack`]);
    expect(await datasets('35004')).toEqual([`${base}/id/communes/35004/pack`]);
    expect(await datasets('35005')).toEqual([]);
    // Over the whole national catalog: every dataset has a distribution, every distribution a non-zero byteSize.
    let url: string | undefined = `${base}/catalog.ttl?page=1&page_size=200`;
    while (url) {
      const store = await ttl(url);
      for (const d of store.getSubjects(RDF_TYPE, `${DCAT}Dataset`, null).filter((x) => x.value.includes('/id/communes/'))) {
        const dists = objects(store, d, `${DCAT}distribution`);
        expect([d.value, dists.length > 0]).toEqual([d.value, true]);
        for (const dist of dists) expect(Number(one(store, dist, `${DCAT}byteSize`).value)).toBeGreaterThan(0);
      }
      url = store.getObjects(null, `${HYDRA}next`, null)[0]?.value;
    }
  });
});

/**
 * DCAT-AP 3 SHACL, restated from the official files in test/fixtures/shacl/dcat-ap-3-shapes.ttl
 * (provenance in its README), run with rdf-validate-shacl.
 */
const SHAPES_FILE = path.join(__dirname, 'fixtures', 'shacl', 'dcat-ap-3-shapes.ttl');
const SH = 'http://www.w3.org/ns/shacl#';
const A300 = 'urn:dotation:shacl:dcat-ap-3.0.0:shapes#';
const R300 = 'urn:dotation:shacl:dcat-ap-3.0.0:range#';
const A301 = 'urn:dotation:shacl:dcat-ap-3.0.1#';

/** Every rdf:type the catalog emits; the shapes restate the official constraints on each (none on hydra's). */
const COVERED_CLASSES = [
  `${DCAT}Catalog`,
  `${HYDRA}Collection`,
  `${HYDRA}PartialCollectionView`,
  'http://xmlns.com/foaf/0.1/Organization',
  'http://xmlns.com/foaf/0.1/Agent',
  'http://xmlns.com/foaf/0.1/Document',
  `${DCT}LinguisticSystem`,
  `${DCAT}Dataset`,
  `${DCT}LicenseDocument`,
  `${DCT}Frequency`,
  `${DCT}Location`,
  `${DCT}PeriodOfTime`,
  `${DCAT}Distribution`,
  `${DCT}MediaTypeOrExtent`,
  `${DCT}MediaType`,
  `${SPDX}Checksum`,
  `${SPDX}ChecksumAlgorithm`,
];

/**
 * The only results the DCAT-AP 3 shapes may report on our catalog, each with its reason. Anything
 * else fails. The block `loc:` of the shapes file checks what we emit instead.
 */
const ALLOWED_DEVIATIONS = [
  {
    shape: `${A300}Checksum-checksumValue`,
    component: `${SH}DatatypeConstraintComponent`,
    reason:
      'spdx:checksumValue is a plain string, not xsd:hexBinary: rdflib turns hexBinary into bytes and udata stores ' +
      'Checksum.value as a string (harvest-and-schemas.md §1.2, §5). Checked as 64 lower-case hex characters instead (loc:Checksum).',
  },
  {
    shape: `${A301}Checksum-checksumValue`,
    component: `${SH}DatatypeConstraintComponent`,
    reason: 'The same constraint as above, in the 3.0.1 file: the same plain-string checksum.',
  },
  {
    shape: `${A300}Checksum-algorithm`,
    component: `${SH}HasValueConstraintComponent`,
    reason:
      'The 3.0.0/html shapes.ttl (the 2.1.1 file) pins spdx:algorithm to sha1; we publish the sha256 of the files, ' +
      'which udata reads (md5, sha1, sha256) and 3.0.1 allows (any spdx:ChecksumAlgorithm, checked by a301:Checksum-algorithm).',
  },
  {
    shape: `${A300}Distribution-byteSize`,
    component: `${SH}DatatypeConstraintComponent`,
    reason:
      'The 3.0.0/html shapes.ttl (the 2.1.1 file) wants xsd:decimal, 3.0.1 and DCAT 3 xsd:nonNegativeInteger: one literal ' +
      'cannot have both; we follow 3.0.1 (checked by a301:Distribution-byteSize), which rdflib reads as an int for udata.',
  },
  {
    shape: `${R300}Dataset-source`,
    component: `${SH}ClassConstraintComponent`,
    reason:
      'dct:source (and prov:wasDerivedFrom) name the national dataset an extract is cut from by its page (INSEE, ' +
      'data.gouv.fr), left untyped: udata harvests every node typed dcat:Dataset in a page as one of the catalog’s ' +
      'datasets, so typing it would import the national dataset as ours.',
  },
] as const;

interface ShaclReport {
  conforms: boolean;
  results: { focus?: string; path?: string; shape?: string; component?: string; value?: string; message: string[] }[];
}

/** Validates each data file (Turtle or N-Triples) against SHAPES_FILE; one report per file. */
async function shaclValidate(dataFiles: string[]): Promise<ShaclReport[]> {
  // rdf-validate-shacl is an ES module: run it in a plain Node process.
  const script = `
    import fs from 'node:fs';
    import N3 from 'n3';
    import SHACLValidator from 'rdf-validate-shacl';
    const [shapesFile, ...dataFiles] = process.argv.slice(1);
    const parse = (f) => new N3.Parser().parse(fs.readFileSync(f, 'utf8'));
    const validator = new SHACLValidator(new N3.Store(parse(shapesFile)));
    const out = [];
    for (const f of dataFiles) {
      const report = await validator.validate(new N3.Store(parse(f)));
      out.push({ conforms: report.conforms, results: report.results.map((r) => ({ focus: r.focusNode?.value, path: r.path?.value,
        shape: r.sourceShape?.value, component: r.sourceConstraintComponent?.value, value: r.value?.value, message: r.message.map((m) => m.value) })) });
    }
    console.log(JSON.stringify(out));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, SHAPES_FILE, ...dataFiles],
      { cwd: process.cwd(), maxBuffer: 256 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  return JSON.parse(out);
}
