import crypto from 'node:crypto';
import type { Pipeline } from '../engine/pipeline';
import type { PackSection, PackTable, PackLayer } from './section';
import { CSV_BOM, csvCell, slugify, tableSchema, toCsv, validateCsv, validateRows } from './format';
import {
  CATALOGUE_SCHEMA,
  SCDL_CATALOGUE_SCHEMA_URL,
  SCDL_CATALOGUE_URL,
  SCDL_CATALOGUE_VERSION,
  catalogueCsv,
  licenceName,
} from './catalogue';
import type { CommuneFacts } from './facts';
import type { AbsentSource, SourceFacts } from './sources-meta';
import { lisezmoi } from './lisezmoi';
import { deCommune } from '../communes/names';
import type { PackFile } from './zip';

/** A commune of the pack referential, as read by the batch query of build.ts. */
export interface CommuneRow {
  code: string;
  type: string;
  nom: string;
  departement: string | null;
  dep_nom: string | null;
  region: string | null;
  reg_nom: string | null;
  epci: string | null;
  epci_nom: string | null;
  epci_type: string | null;
  siren: string | null;
  codes_postaux: string[];
  anciens_codes: string[];
  commune_parent: string | null;
  parent_nom: string | null;
  /** The referential package's figure, of unknown vintage: never written in the pack (facts.population is). */
  population: number | null;
  deleguees: { code: string; nom: string; type: string }[] | null;
  /** COG TNCC (article and charnière of the name), when the referential has it. */
  tncc?: number | null;
  /** Population with its millésime and history, from facts.ts (absent in callers that do not read them). */
  facts?: CommuneFacts;
}

/** A source in the pack: its pipeline and the published dataset (latest millésime) it cites. */
export interface SourceMeta {
  id: string;
  pipeline: Pipeline;
  section: PackSection | null;
  millesime: string;
  runId: number | null;
  /** Date (YYYY-MM-DD) the dataset was published in the database. */
  publishedAt: string;
  details: Record<string, unknown>;
  /** Licence, producer's date and frequency, worked out once per build (sources-meta.ts). */
  facts: SourceFacts;
}

export interface SourceTable {
  source: SourceMeta;
  table: PackTable;
  file: string;
}
export interface SourceLayer {
  source: SourceMeta;
  layer: PackLayer;
  file: string;
}

export interface PackPlan {
  cog: SourceMeta | null;
  sources: SourceMeta[];
  tables: SourceTable[];
  layers: SourceLayer[];
  baseUrl: string;
  /** Sources with a pack section that are not loaded on this server, with why. */
  absent: AbsentSource[];
  /** Per source, per commune: why a loaded source has no row for that commune (when the source can tell). */
  missing: Map<string, Map<string, string>>;
}

/** A loaded source that has no row for this commune, or a source that is not loaded: named in LISEZMOI with the reason. */
export interface Unavailable {
  title: string;
  producer: string;
  landingPage: string;
  reason: string;
}

/** What of a source is in this commune's pack: its files with their row counts (only non-empty files are shipped). */
export interface Shipped {
  source: SourceMeta;
  files: { name: string; title: string; rows: number }[];
}

/** Body of a per-commune streamed file (PackTable/PackLayer.perCommune), as PostgreSQL wrote it. */
export interface StreamedBody {
  /** The bytes as PostgreSQL sent them: joined once, with the file's head and tail, when the pack is rendered. */
  chunks: Buffer[];
  rows: number;
}

/**
 * Rows of one commune: per table file, CSV cells; per layer file, GeoJSON features (JSON text);
 * per streamed file, its body (CSV rows without header; or Feature lines, each after the first led by a comma).
 */
export interface CommuneData {
  tables: Map<string, string[][]>;
  layers: Map<string, string[]>;
  streamed?: Map<string, StreamedBody>;
}

/** Lines checked against the Table Schema in a streamed CSV: its values come typed from SQL, the sample guards the layout. */
const STREAMED_SAMPLE_LINES = 100;

function headOfLines(buf: Buffer, lines: number): string {
  let at = -1;
  for (let i = 0; i < lines; i++) {
    const next = buf.indexOf(10, at + 1);
    if (next < 0) return buf.toString('utf8');
    at = next;
  }
  return buf.subarray(0, at + 1).toString('utf8');
}

export interface RenderedPack {
  /** Data files in ZIP order, without changes.json and datapackage.json. */
  files: PackFile[];
  dataHash: string;
  /** Per source shipped: its millésime and the row count of each of its files (empty files are not shipped). */
  donnees: Record<string, { millesime: string; lignes: Record<string, number> }>;
  /** Sources not in this pack, with why. */
  unavailable: Unavailable[];
}

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/** Assigns file names: `<table>.csv`, prefixed with the source id when two sources use the same name. */
export function planFiles(sources: SourceMeta[]): { tables: SourceTable[]; layers: SourceLayer[] } {
  const count = new Map<string, number>();
  for (const s of sources) {
    for (const t of s.section?.tables ?? []) count.set(`${t.name}.csv`, (count.get(`${t.name}.csv`) ?? 0) + 1);
    for (const l of s.section?.layers ?? []) count.set(`${l.name}.geojson`, (count.get(`${l.name}.geojson`) ?? 0) + 1);
  }
  const name = (s: SourceMeta, base: string) => (count.get(base)! > 1 ? `${s.id}-${base}` : base);
  return {
    tables: sources.flatMap((s) => (s.section?.tables ?? []).map((table) => ({ source: s, table, file: name(s, `${table.name}.csv`) }))),
    layers: sources.flatMap((s) =>
      (s.section?.layers ?? []).map((layer) => ({ source: s, layer, file: name(s, `${layer.name}.geojson`) })),
    ),
  };
}

/** Why a commune has no population légale: the source's own reason, else because the source is not loaded. */
function populationAbsente(c: CommuneRow, plan: PackPlan): string | null {
  if (c.facts?.population) return null;
  const pops = plan.sources.find((s) => s.id === 'populations');
  if (!pops) return "les populations légales de l'INSEE ne sont pas chargées sur ce serveur";
  return (
    plan.missing.get('populations')?.get(c.code) ??
    `la commune n'a pas de population dans les populations légales de l'INSEE (millésime ${pops.millesime})`
  );
}

const NATURES: Record<number, string> = {
  10: 'changement de nom',
  20: 'création',
  21: 'rétablissement',
  31: 'fusion simple',
  32: 'création de commune nouvelle',
  33: 'fusion-association',
  34: 'transformation de fusion-association en fusion simple',
};

/**
 * commune.json: the commune's identity card. Its population is the population municipale of the
 * latest populations légales, with that millésime: the figure population.csv gives on its last row.
 */
function communeJson(c: CommuneRow, plan: PackPlan): string {
  const p = c.facts?.population ?? null;
  return (
    JSON.stringify(
      {
        code: c.code,
        nom: c.nom,
        type: c.type,
        departement: c.departement ? { code: c.departement, nom: c.dep_nom } : null,
        region: c.region ? { code: c.region, nom: c.reg_nom } : null,
        epci: c.epci ? { code: c.epci, nom: c.epci_nom, type: c.epci_type } : null,
        siren: c.siren,
        codesPostaux: c.codes_postaux ?? [],
        anciensCodes: c.anciens_codes ?? [],
        communeParent: c.commune_parent ? { code: c.commune_parent, nom: c.parent_nom } : null,
        communesDelegueesOuAssociees: c.deleguees ?? [],
        population: p?.municipale ?? null,
        populationMillesime: p?.millesime ?? null,
        populationSource: p
          ? `INSEE, populations légales millésime ${p.millesime}, population municipale${
              p.codesSources.length > 1 ? ` (somme des codes ${p.codesSources.join(', ')})` : ''
            } ; voir population.csv`
          : null,
        ...(p ? {} : { populationAbsente: populationAbsente(c, plan) }),
        historique: (c.facts?.history ?? []).map((h) => ({
          date: h.date,
          nature: NATURES[h.mod] ?? `mouvement ${h.mod}`,
          communes: h.avant,
          ...(h.ancienNom ? { ancienNom: h.ancienNom } : {}),
        })),
        cog: plan.cog?.millesime ?? null,
      },
      null,
      2,
    ) + '\n'
  );
}
const GEOJSON_HEAD = Buffer.from('{"type":"FeatureCollection","features":[\n', 'utf8');
const GEOJSON_TAIL = Buffer.from(']}\n', 'utf8');

function geojson(features: string[]): string {
  return `{"type":"FeatureCollection","features":[\n${features.join(',\n')}\n]}\n`;
}

/** Why a loaded source has no row for this commune (French): the source's own reason, else a generic one. */
function emptyReason(s: SourceMeta): string {
  return (
    s.section?.emptyReason?.({ millesime: s.millesime, publishedAt: s.publishedAt, details: s.details }) ??
    `le fichier national chargé (millésime ${s.millesime}) ne contient aucune ligne pour cette commune`
  );
}

/**
 * The data files of one commune pack, deterministic: same rows and sources → same bytes.
 * A table or layer without a row for the commune is not shipped: LISEZMOI names it with the reason.
 * CSVs start with the UTF-8 byte order mark (French Excel opens them right on a double-click) and are
 * validated against their Table Schema; an invalid file throws (the pack is not published).
 */
export function renderPack(c: CommuneRow, plan: PackPlan, data: CommuneData): RenderedPack {
  const files: PackFile[] = [];
  const donnees: RenderedPack['donnees'] = {};
  const dataFiles: PackFile[] = [];
  const shipped = new Map<SourceMeta, Shipped>();
  const ship = (source: SourceMeta, name: string, title: string, rows: number, data: Buffer) => {
    dataFiles.push({ name, data });
    (shipped.get(source) ?? shipped.set(source, { source, files: [] }).get(source)!).files.push({ name, title, rows });
    (donnees[source.id] ??= { millesime: source.millesime, lignes: {} }).lignes[name] = rows;
  };
  for (const t of plan.tables) {
    const schema = tableSchema(t.table.fields, t.table.primaryKey);
    if (t.table.perCommune) {
      const body = data.streamed?.get(t.file) ?? { chunks: [], rows: 0 };
      if (!body.rows) continue;
      const header = Buffer.from(t.table.fields.map((f) => csvCell(f.name)).join(';') + '\n', 'utf8');
      const file = Buffer.concat([CSV_BOM, header, ...body.chunks]);
      const errors = validateCsv(headOfLines(file, STREAMED_SAMPLE_LINES), schema, 5);
      if (errors.length) throw new Error(`${c.code}/${t.file} does not follow its schema: ${errors.join('; ')}`);
      ship(t.source, t.file, t.table.title, body.rows, file);
      continue;
    }
    const rows = data.tables.get(t.file) ?? [];
    if (!rows.length) continue;
    const errors = validateRows(rows, schema, 5);
    if (errors.length) throw new Error(`${c.code}/${t.file} does not follow its schema: ${errors.join('; ')}`);
    const csv = toCsv(
      t.table.fields.map((f) => f.name),
      rows,
    );
    ship(t.source, t.file, t.table.title, rows.length, Buffer.concat([CSV_BOM, Buffer.from(csv, 'utf8')]));
  }
  for (const l of plan.layers) {
    if (l.layer.perCommune) {
      const body = data.streamed?.get(l.file) ?? { chunks: [], rows: 0 };
      if (!body.rows) continue;
      ship(l.source, l.file, l.layer.title, body.rows, Buffer.concat([GEOJSON_HEAD, ...body.chunks, GEOJSON_TAIL]));
      continue;
    }
    const feats = data.layers.get(l.file) ?? [];
    if (!feats.length) continue;
    ship(l.source, l.file, l.layer.title, feats.length, Buffer.from(geojson(feats), 'utf8'));
  }
  const present = plan.sources.filter((s) => shipped.has(s)).map((s) => shipped.get(s)!);
  const unavailable: Unavailable[] = [
    ...plan.sources
      .filter((s) => !shipped.has(s))
      .map((s) => ({
        title: s.pipeline.source.title,
        producer: s.pipeline.source.producer,
        landingPage: s.pipeline.source.landingPage,
        reason: plan.missing.get(s.id)?.get(c.code) ?? emptyReason(s),
      })),
    ...plan.absent.map((a) => ({ title: a.title, producer: a.producer, landingPage: a.landingPage, reason: a.reason })),
  ];
  const readme = lisezmoi(c, plan, present, unavailable);
  files.push({ name: 'LISEZMOI.md', data: Buffer.from(readme, 'utf8') });
  if (plan.cog) files.push({ name: 'commune.json', data: Buffer.from(communeJson(c, plan), 'utf8') });
  const catalogue = catalogueCsv(c, plan, present);
  const catErrors = validateCsv(catalogue, CATALOGUE_SCHEMA, 5);
  if (catErrors.length) throw new Error(`${c.code}/catalogue.csv does not follow its schema: ${catErrors.join('; ')}`);
  files.push({ name: 'catalogue.csv', data: Buffer.concat([CSV_BOM, Buffer.from(catalogue, 'utf8')]) });
  files.push(...dataFiles);
  const h = crypto.createHash('sha256');
  for (const f of files)
    h.update(f.name)
      .update('\0')
      .update((f.sha256 ??= sha(f.data)))
      .update('\n');
  return { files, dataHash: h.digest('hex'), donnees, unavailable };
}

function mediatype(name: string): { format: string; mediatype: string } {
  const ext = name.split('.').pop()!;
  return (
    (
      {
        csv: { format: 'csv', mediatype: 'text/csv' },
        json: { format: 'json', mediatype: 'application/json' },
        geojson: { format: 'geojson', mediatype: 'application/geo+json' },
        md: { format: 'md', mediatype: 'text/markdown' },
        html: { format: 'html', mediatype: 'text/html' },
      } as Record<string, { format: string; mediatype: string }>
    )[ext] ?? { format: ext, mediatype: 'application/octet-stream' }
  );
}

/** The Frictionless licence of a source: one licence per dataset, the same as in LISEZMOI and catalogue.csv. */
function dpLicence(s: SourceMeta): { name: string; path: string; title: string } {
  const l = s.facts.licence;
  return { name: licenceName(l), path: l.url, title: l.title };
}

const BOM_NOTE =
  " Le fichier commence par la marque d'ordre des octets UTF-8 (BOM, octets EF BB BF) pour qu'Excel l'ouvre avec les bons accents ; séparateur point-virgule.";

const srcOf = (s: SourceMeta) => ({
  title: `${s.pipeline.source.producer} — ${s.pipeline.source.title}`,
  path: s.pipeline.source.landingPage,
  version: s.millesime,
});

/** datapackage.json (Frictionless Data Package v2) describing every other file of the pack. */
export function datapackage(c: CommuneRow, plan: PackPlan, files: PackFile[]): string {
  const names = new Set(files.map((f) => f.name));
  // The sources this pack holds a file of: the referential (commune.json) and every shipped source.
  const all = [
    ...(plan.cog && names.has('commune.json') ? [plan.cog] : []),
    ...plan.sources.filter(
      (s) => plan.tables.some((t) => t.source === s && names.has(t.file)) || plan.layers.some((l) => l.source === s && names.has(l.file)),
    ),
  ];
  const licences = [...new Map(all.map((s) => [dpLicence(s).name, dpLicence(s)])).values()];
  const resources = files.map(
    (f) =>
      `${resourceHead(plan, f.name)},\n      "bytes": ${f.data.length},\n      "hash": ${JSON.stringify(`sha256:${f.sha256 ?? sha(f.data)}`)}\n    }`,
  );
  const dp = {
    $schema: 'https://datapackage.org/profiles/2.0/datapackage.json',
    name: `dotation-${c.code.toLowerCase()}`,
    id: `${plan.baseUrl}/communes/${c.code}/pack`,
    title: `Données ouvertes ${deCommune(c.nom, c.tncc)} (${c.code})`,
    description: `Dotation de données ${deCommune(c.nom, c.tncc)} : données ouvertes nationales découpées pour la commune (code INSEE ${c.code}).`,
    homepage: `${plan.baseUrl}/communes/${c.code}/page`,
    keywords: ['commune', c.code, slugify(c.nom), ...all.map((s) => s.id)],
    licenses: licences,
    sources: all.map(srcOf),
  };
  // JSON.stringify(dp with its resources, null, 2), the resources spliced in as text (see resourceHead).
  const text = JSON.stringify(dp, null, 2);
  return `${text.slice(0, -2)},\n  "resources": [\n${resources.join(',\n')}\n  ]\n}\n`;
}

/**
 * What datapackage.json says of a file, but its size and hash, as JSON.stringify(…, null, 2) writes
 * it at its place (the elements of `resources`, indented by 4), without its closing brace. It
 * depends on the plan and the file's name only: kept per plan (one build) and file name, instead of
 * serialising every table's schema again for each of 35,000 packs.
 */
function resourceHead(plan: PackPlan, fileName: string): string {
  let heads = resourceHeads.get(plan);
  if (!heads) resourceHeads.set(plan, (heads = new Map()));
  let head = heads.get(fileName);
  if (head === undefined) {
    head = JSON.stringify(resourceOf(plan, fileName), null, 2)
      .slice(0, -2)
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
    heads.set(fileName, head);
  }
  return head;
}
const resourceHeads = new WeakMap<PackPlan, Map<string, string>>();

/** datapackage.json's description of one file, without its size and hash. */
function resourceOf(plan: PackPlan, fileName: string): Record<string, unknown> {
  const base = fileName.replace(/\.[^.]+$/, '');
  const t = plan.tables.find((x) => x.file === fileName);
  const l = plan.layers.find((x) => x.file === fileName);
  const r: Record<string, unknown> = {
    name: slugify(fileName === 'LISEZMOI.html' ? 'LISEZMOI_html' : base).replace(/-/g, '_') || 'fichier',
    path: fileName,
    ...mediatype(fileName),
    encoding: 'utf-8',
  };
  if (t) {
    const { name, path, title } = dpLicence(t.source);
    Object.assign(r, {
      type: 'table',
      title: t.table.title,
      description: t.table.description + BOM_NOTE,
      dialect: t.table.perCommune ? { delimiter: ';', lineTerminator: '\n' } : { delimiter: ';' },
      schema: tableSchema(t.table.fields, t.table.primaryKey),
      sources: [srcOf(t.source)],
      licenses: [{ name, path, title }],
    });
  } else if (l) {
    const { name, path, title } = dpLicence(l.source);
    Object.assign(r, {
      title: l.layer.title,
      description: l.layer.description,
      sources: [srcOf(l.source)],
      licenses: [{ name, path, title }],
    });
  } else if (fileName === 'catalogue.csv') {
    Object.assign(r, {
      type: 'table',
      title: 'Catalogue des jeux de données (SCDL catalogue)',
      description: `Une ligne par jeu de données du dossier, selon le schéma SCDL catalogue ${SCDL_CATALOGUE_VERSION} (${SCDL_CATALOGUE_URL}, schéma officiel ${SCDL_CATALOGUE_SCHEMA_URL}), dont les contraintes sont reprises ici sauf que COLL_SIRET, PRODUCTEUR_SIRET, DATE_PUBL et DATE_MAJ peuvent être vides : LISEZMOI dit lesquels compléter.${BOM_NOTE}`,
      dialect: { delimiter: ';' },
      schema: CATALOGUE_SCHEMA,
    });
  } else if (fileName === 'commune.json' && plan.cog) {
    const { name, path, title } = dpLicence(plan.cog);
    Object.assign(r, { title: "Fiche d'identité de la commune", sources: [srcOf(plan.cog)], licenses: [{ name, path, title }] });
  } else if (fileName === 'LISEZMOI.md') {
    Object.assign(r, { title: 'Lisez-moi : présentation du dossier en français (texte Markdown)' });
  } else if (fileName === 'LISEZMOI.html') {
    Object.assign(r, { title: 'Lisez-moi : la même présentation, à ouvrir dans un navigateur (double-clic)' });
  } else if (fileName === 'changes.json') {
    Object.assign(r, { title: 'Changements depuis la version précédente' });
  }
  return r;
}
