import type { FastifyInstance } from 'fastify';
import { Parser, Store } from 'n3';
import { freshDatabase } from './helpers/db';
import { validateAgainstOfficial } from './helpers/scdl';
import { SOCLE_SOURCES, loadSocleFixtures } from './helpers/socle';
import { settings } from '../config/settings';
import { sourceRegistry } from '../config/sources';
import { pool } from '../src/db/pool';
import type { RunReport } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { parseCsv } from '../src/packs/format';
import { readManifestAsync, versionPath } from '../src/packs/store';
import { readZipEntries } from '../src/packs/zip';
import { renderSections, renderWhole } from '../src/packs/lisezmoi';
import { buildServer } from '../src/server/app';
import { invalidateReferential } from '../src/communes/referential';
import { resetDataStamp } from '../src/server/http/cache';
import { perCommuneSql } from '../src/packs/section';

/**
 * The surface of the seven socle commun sources of issue 14 (associations, marchés publics,
 * urbanisme, permis de construire, santé, éducation, élus): each loaded from its fixture folder as the
 * conformance suite does (the folder as MIRROR_DIR; real/ when it holds the only files), then packs
 * built, and for Rennes (35238, present in every fixture) each source checked in the pack ZIP (its
 * files, French column names as declared, GeoJSON features, its LISEZMOI paragraph with edition and
 * licence), in catalogue.csv (its row, valid against the official SCDL catalogue schema), on the
 * commune page (its block, values read back from the pack's CSVs), in the commune's DCAT catalog and in
 * the API Territoire's dynamic datasets. A commune with only some of them (01033) shows the others
 * under « Non disponible » and no block.
 */
const SEVEN = SOCLE_SOURCES;
const RENNES = '35238';
const BUILT = [RENNES, '01033', '75056'];
const PUBLISHER = 'Région Exemple';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let reports: Map<string, RunReport>;
let files: Map<string, Buffer>;
let lisezmoi: string;
let page: string;
const text = (name: string) => files.get(name)!.toString('utf8');
/** The HTML with every run of whitespace as one space (templates are laid out by prettier; a browser collapses them alike). */
const flat = (s: string) => s.replace(/\s+/g, ' ').replace(/> </g, '><');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;');
const get = (url: string) => app.inject({ method: 'GET', url });

/** The « Non disponible pour votre commune » section of a page (empty when it has none). */
function absentSection(p: string): string {
  const at = p.indexOf('id="absent-titre"');
  return at < 0 ? '' : p.slice(at, p.indexOf('</section>', at));
}

/** The rows of a CSV of the pack, as objects by column name (the BOM dropped). */
function rowsOf(name: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text(name).replace(/^\uFEFF/, ''));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** The LISEZMOI paragraph of a source: from its « ## » heading naming its first file to the next heading. */
function paragraphOf(id: string): string {
  const first = sourceRegistry().get(id)!.pack!.tables[0].name;
  const start = lisezmoi.split('\n## ').find((s) => s.split('\n')[0].includes(`${first}.csv`));
  return start ?? '';
}

beforeAll(async () => {
  db = await freshDatabase({ PUBLISHER_NAME: PUBLISHER });
  reports = await loadSocleFixtures();
  const built = await buildPacks({ communes: BUILT, log: () => undefined });
  expect(built.failed).toBe(0);
  const m = (await readManifestAsync(settings().PACKS_DIR, RENNES))!;
  files = await readZipEntries(versionPath(settings().PACKS_DIR, RENNES, m.versions[0].version));
  lisezmoi = text('LISEZMOI.md');
  invalidateReferential();
  resetDataStamp();
  app = await buildServer();
  await app.ready();
  const r = await get(`/communes/${RENNES}/page`);
  expect(r.statusCode).toBe(200);
  page = flat(r.body);
}, 600000);

afterAll(async () => {
  await app?.close();
  await db.cleanup();
});

describe.each(SEVEN.map((id) => [id]))('%s for Rennes', (id) => {
  const pipeline = () => sourceRegistry().get(id)!;

  test('loads from its fixture: read = loaded + rejected, an edition', () => {
    const r = reports.get(id)!;
    expect([r.status, r.error]).toEqual(['succeeded', undefined]);
    expect(r.read).toBe(r.loaded + r.rejected);
    expect(r.millesime).toMatch(/\d{4}/);
  });

  test('pack section: every file with rows for Rennes, and only those; French columns as declared; GeoJSON features', async () => {
    const pack = pipeline().pack!;
    let shipped = 0;
    for (const t of pack.tables) {
      const sql = t.perCommune ? `select * from (${perCommuneSql(t.query, RENNES)}) q` : t.query;
      const { rows } = await pool().query(sql, t.perCommune ? [] : [[RENNES]]);
      const name = `${t.name}.csv`;
      expect([name, files.has(name)]).toEqual([name, rows.length > 0]);
      if (!rows.length) continue;
      shipped++;
      expect(files.get(name)!.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
      const [header, ...lines] = parseCsv(text(name).replace(/^\uFEFF/, ''));
      expect(header).toEqual(t.fields.map((f) => f.name));
      expect(lines).toHaveLength(rows.length);
    }
    for (const l of pack.layers ?? []) {
      const { rows } = await pool().query(l.query, [[RENNES]]);
      const name = `${l.name}.geojson`;
      expect([name, files.has(name)]).toEqual([name, rows.length > 0]);
      if (!rows.length) continue;
      const fc = JSON.parse(text(name));
      expect(fc.type).toBe('FeatureCollection');
      expect(fc.features).toHaveLength(rows.length);
      expect(fc.features[0].geometry.type).toMatch(/Point|Polygon/);
    }
    expect(shipped).toBeGreaterThan(0);
  });

  test('LISEZMOI: a paragraph in French naming the producer, the edition and the one licence', () => {
    const p = paragraphOf(id);
    expect(p.length).toBeGreaterThan(400);
    expect(p).toMatch(/Producteurs? :/);
    expect(p).toMatch(/Citer :/);
    // The edition as the run stated it (a date, a month, a rentrée's year).
    const edition = reports.get(id)!.millesime!;
    expect([id, p.includes(edition) || p.includes(edition.slice(0, 4))]).toEqual([id, true]);
    const licences = p.split('\n').filter((l) => l.startsWith('- Licence :'));
    expect(licences).toEqual([
      '- Licence : Licence Ouverte / Open Licence version 2.0 (<https://www.etalab.gouv.fr/licence-ouverte-open-licence>)',
    ]);
  });

  test('catalogue.csv: its row, valid against the official SCDL catalogue schema (only COLL_SIRET left to the mairie)', () => {
    const csv = text('catalogue.csv');
    const [header, ...rows] = parseCsv(csv.replace(/^\uFEFF/, ''));
    const at = rows.findIndex((r) => r[header.indexOf('ID')] === `${RENNES}-${id}`);
    expect(at).toBeGreaterThanOrEqual(0);
    const row = Object.fromEntries(header.map((h, i) => [h, rows[at][i]]));
    const line = at + 2;
    const errors = validateAgainstOfficial(csv).filter((e) => e.startsWith(`line ${line},`));
    const dateSaid = lisezmoi.includes('DATE_PUBL et DATE_MAJ sont vides pour') && lisezmoi.includes(pipeline().source.title);
    expect(
      errors.filter(
        (e) =>
          e !== `line ${line}, COLL_SIRET: required value missing` &&
          !(dateSaid && /^line \d+, DATE_(PUBL|MAJ): required value missing$/.test(e)),
      ),
    ).toEqual([]);
    expect(row.PRODUCTEUR_SIRET).toMatch(/^\d{14}$/);
    expect(row.FREQ_MAJ).not.toBe('Inconnue');
    expect(row.LICENCE).toBe('Licence Ouverte-LO');
    // One file: its download URL; several: the commune page's block of the source.
    if (Number(row.NOMBRE_RESSOURCES) > 1) expect(row.URL).toMatch(new RegExp(`/communes/${RENNES}/page#${id}$`));
    else expect(row.URL).toMatch(/\/fichiers\/[^/]+$/);
  });

  test('commune page: a block of its own (the catalogue URL anchor lands on it), nothing under « Non disponible »', () => {
    expect(page).toContain(`<section id="${id}"`);
    expect(absentSection(page).includes(`<strong>${escapeHtml(pipeline().source.title)}</strong>`)).toBe(false);
  });

  test('DCAT catalog of the commune: one dataset, with its files as distributions', async () => {
    const r = await get(`/communes/${RENNES}/catalog.ttl`);
    expect(r.statusCode).toBe(200);
    const store = new Store(new Parser({ format: 'Turtle' }).parse(r.body));
    const base = settings().PUBLIC_BASE_URL.replace(/\/$/, '');
    const ds = `${base}/id/communes/${RENNES}/${id}`;
    expect(store.getQuads(ds, 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type', 'http://www.w3.org/ns/dcat#Dataset', null)).toHaveLength(
      1,
    );
    const title = store.getObjects(ds, 'http://purl.org/dc/terms/title', null)[0].value;
    expect(title).toContain(pipeline().source.title);
    expect(store.getObjects(ds, 'http://www.w3.org/ns/dcat#distribution', null).length).toBeGreaterThan(0);
  });

  test('API Territoire: a dynamic dataset of fr:commune:35238 whose uri resolves', async () => {
    const r = await get(`/api/1/spatial/zone/fr:commune:${RENNES}/datasets?dynamic=1&size=0`);
    expect(r.statusCode).toBe(200);
    const d = JSON.parse(r.body).find((x: { id: string }) => x.id === `${id.replace(/-/g, '_')}_com`);
    expect(d).toBeDefined();
    expect(d.title).toBe(pipeline().source.title);
    const u = await get(new URL(d.uri).pathname);
    expect(u.statusCode).toBe(200);
    expect(JSON.parse(u.body).files.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(pipeline().pack!.tables.map((t) => `${t.name}.csv`)),
    );
  });
});

test('every table the seven publications wrote has planner statistics (analyzed in the publishing transaction)', async () => {
  // Without them, the per-commune pack queries of a 2.6 M-row table were planned as parallel scans (25 packs/s instead of 90).
  const tables = [
    'association',
    'association_compte',
    'marche_public',
    'elu_municipal',
    'education_etablissement',
    'sante_etablissement',
    'sante_profession',
    'permis_construire',
    'urbanisme_document',
  ];
  const { rows } = await pool().query(
    `select t, exists (select 1 from pg_stats s where s.schemaname = 'public' and s.tablename = t) as analyzed from unnest($1::text[]) t order by t`,
    [tables],
  );
  expect(rows.filter((r) => !r.analyzed).map((r) => r.t)).toEqual([]);
  expect(rows).toHaveLength(tables.length);
});

test('LISEZMOI.html renders the whole LISEZMOI.md, section by section from the cache, as rendering it at once would', () => {
  const html = text('LISEZMOI.html');
  const main = html.slice(html.indexOf('<main>\n') + '<main>\n'.length, html.indexOf('</main>'));
  expect(lisezmoi.split(/^## /m).length).toBeGreaterThan(10);
  expect(main).toBe(renderWhole(lisezmoi));
  // Rendered again (every section now from the cache): the same.
  expect(renderSections(lisezmoi)).toBe(main);
});

describe('the blocks show what the pack holds, escaped', () => {
  test('élus first: the maire and the council, with the personal-data notice; LISEZMOI says it too', () => {
    const [maire] = rowsOf('elus_maire.csv');
    const conseil = rowsOf('elus_conseillers_municipaux.csv');
    const at = page.indexOf('<section id="elus"');
    expect(at).toBeGreaterThan(0);
    // Before every other block and the key figures.
    for (const other of ['id="associations"', 'id="chiffres-titre"', 'id="vie-locale-titre"']) expect(at).toBeLessThan(page.indexOf(other));
    const block = page.slice(at, page.indexOf('</section>', at));
    expect(block).toContain(`Maire : <strong>${escapeHtml(`${maire.prenom} ${maire.nom}`)}</strong>`);
    for (const c of conseil) expect(block).toContain(`<td>${escapeHtml(c.nom)}</td><td>${escapeHtml(c.prenom)}</td>`);
    expect(block).toContain('publiées au titre de la transparence de la vie publique');
    // Birth dates are in the pack (the register publishes them) but not on the page.
    expect(block).not.toContain(maire.date_naissance);
    expect(lisezmoi).toMatch(/données à caractère personnel\. Elles sont publiées au titre de la transparence de la vie publique/);
    expect(lisezmoi).toContain('**Un réutilisateur ne doit pas les utiliser au-delà de cette finalité**');
  });

  test('associations: open and dissolved counts, actives by theme', () => {
    const [n] = rowsOf('associations_nombre.csv');
    const block = page.slice(page.indexOf('<section id="associations"'));
    expect(block).toContain(`${n.actives} active`);
    expect(block).toContain(`${n.dissoutes} dissoute`);
    for (const t of rowsOf('associations_themes.csv').filter((x) => Number(x.actives) > 0))
      expect(block).toContain(`<th scope="row">${escapeHtml(t.theme || 'Thème non renseigné')}</th>`);
  });

  test('marchés publics: count and amount per year, the latest contracts', () => {
    const block = page.slice(page.indexOf('<section id="marches-publics"'), page.indexOf('<section id="urbanisme"'));
    const contrats = rowsOf('commande_publique.csv');
    expect(block).toContain(`${contrats.length} contrat`);
    for (const y of rowsOf('commande_publique_annees.csv')) expect(block).toContain(`<td>${y.annee}</td>`);
    const latest = contrats.filter((c) => c.date_notification).sort((a, b) => b.date_notification.localeCompare(a.date_notification))[0];
    expect(block).toContain(escapeHtml(latest.objet));
  });

  test('urbanisme: the document in force, its approval date, its Géoportail link', () => {
    const [u] = rowsOf('urbanisme.csv');
    const block = page.slice(page.indexOf('<section id="urbanisme"'), page.indexOf('<section id="permis-construire"'));
    expect(block).toContain(u.libelle_regime.split(' ')[0]);
    if (u.lien) expect(block).toContain(`href="${u.lien}"`);
    if (u.date_approbation)
      expect(block).toContain(
        new Date(u.date_approbation).toLocaleDateString('fr-FR', {
          timeZone: 'Europe/Paris',
          day: 'numeric',
          month: 'long',
          year: 'numeric',
        }),
      );
  });

  test('permis: housing authorised and started per year, as a chart over a data table', () => {
    const block = page.slice(page.indexOf('<section id="permis-construire"'), page.indexOf('<section id="sante"'));
    expect(block).toContain('data-graphique="bar"');
    for (const y of rowsOf('logements_autorises_commences.csv')) {
      expect(block).toContain(`<th scope="row">${y.annee}</th>`);
      expect(block).toContain(`data-valeur="${y.logements_autorises}"`);
    }
  });

  test('santé: establishments and professionals by profession', () => {
    const block = page.slice(page.indexOf('<section id="sante"'), page.indexOf('<section id="education"'));
    for (const e of rowsOf('etablissements_sante.csv')) expect(block).toContain(escapeHtml(e.nom));
    for (const p of rowsOf('professionnels_sante.csv')) expect(block).toContain(`<td>${escapeHtml(p.profession)}</td>`);
  });

  test('éducation: the schools with their IPS', () => {
    const block = page.slice(page.indexOf('<section id="education"'));
    const annuaire = files.has('etablissements_scolaires.csv') ? rowsOf('etablissements_scolaires.csv') : [];
    const ips = files.has('ips_etablissements_scolaires.csv') ? rowsOf('ips_etablissements_scolaires.csv') : [];
    const uais = [...new Set([...annuaire, ...ips].map((r) => r.uai))];
    expect(uais.length).toBeGreaterThan(0);
    for (const uai of uais.slice(0, 60)) expect(block).toContain(`<td>${uai}</td>`);
    const withIps = ips.filter((r) => r.ips);
    expect(withIps.length).toBeGreaterThan(0);
    expect(block).toContain(`(${withIps[0].rentree})`);
  });

  test('a value with markup is escaped on the page', async () => {
    await pool().query(
      `update elu_municipal set prenom = '<script>alert(1)</script> & "Zoé"' where code_commune = $1 and mandat = 'maire'`,
      [RENNES],
    );
    // A server of its own: the first one keeps the page it rendered until the packs change.
    const other = await buildServer();
    const r = flat((await other.inject({ method: 'GET', url: `/communes/${RENNES}/page` })).body);
    await other.close();
    expect(r).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Zoé&quot;');
    expect(r).not.toContain('<script>alert(1)');
  });
});

test('a commune without some of the seven: no block for them, each named under « Non disponible » with the reason', async () => {
  const r = await get('/communes/01033/page');
  expect(r.statusCode).toBe(200);
  const p = flat(r.body);
  const absent = absentSection(p);
  for (const id of ['marches-publics', 'urbanisme', 'permis-construire', 'sante']) {
    expect(p).not.toContain(`<section id="${id}"`);
    const item = absent.indexOf(`<strong>${escapeHtml(sourceRegistry().get(id)!.source.title)}</strong>`);
    expect([id, item]).not.toEqual([id, -1]);
    expect(absent.slice(item, absent.indexOf('</li>', item))).toMatch(
      / : l’édition chargée \(édition [^)]+\) (ne contient aucune ligne pour cette commune|ne couvre pas le département)/,
    );
  }
  for (const id of ['associations', 'education', 'elus']) expect(p).toContain(`<section id="${id}"`);
});
