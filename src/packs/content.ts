import crypto from 'node:crypto';
import type { Pipeline } from '../engine/pipeline';
import type { PackSection, PackTable, PackLayer } from './section';
import { csvCell, slugify, tableSchema, toCsv, validateCsv } from './format';
import { CATALOGUE_SCHEMA, SCDL_CATALOGUE_URL, SCDL_CATALOGUE_VERSION, frequencyOfCron, licenceName, scdlLicence } from './catalogue';
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
  population: number | null;
  deleguees: { code: string; nom: string; type: string }[] | null;
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
  donnees: Record<string, { millesime: string; lignes: Record<string, number> }>;
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

function communeJson(c: CommuneRow, cog: SourceMeta | null): string {
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
        population: c.population,
        cog: cog?.millesime ?? null,
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

/**
 * Temporal coverage of a millésime: a year (2021), a quarter (2024_T3), or any label holding a
 * year (presidentielle-2022-t2); else the day the source was published.
 */
export function yearBounds(m: string, publishedAt = ''): [string, string] {
  if (/^\d{4}$/.test(m)) return [`${m}-01-01`, `${m}-12-31`];
  const q = /^(\d{4})[_-]?T([1-4])$/i.exec(m);
  if (q) {
    const first = (Number(q[2]) - 1) * 3 + 1;
    const last = new Date(Date.UTC(Number(q[1]), first + 2, 0)).getUTCDate();
    return [`${q[1]}-${String(first).padStart(2, '0')}-01`, `${q[1]}-${String(first + 2).padStart(2, '0')}-${last}`];
  }
  const y = /(?:^|\D)((?:19|20)\d{2})(?:\D|$)/.exec(m)?.[1];
  if (y) return [`${y}-01-01`, `${y}-12-31`];
  return [publishedAt, publishedAt];
}

function catalogueCsv(c: CommuneRow, plan: PackPlan): string {
  const maille = c.type === 'arrondissement-municipal' ? 'Infracommunale' : 'Communale';
  const rows: string[][] = [];
  const datasets: {
    meta: SourceMeta;
    title: string;
    description: string;
    files: string[];
    theme: string;
    keywords: string[];
    siret: string;
  }[] = [];
  if (plan.cog) {
    datasets.push({
      meta: plan.cog,
      title: plan.cog.pipeline.source.title,
      description: "Fiche d'identité de la commune : codes, nom, département, région, intercommunalité, codes postaux, anciens codes.",
      files: ['commune.json'],
      theme: 'Administration locale',
      keywords: ['referentiel', 'cog', 'commune'],
      siret: '',
    });
  }
  for (const s of plan.sources) {
    const files = [
      ...plan.tables.filter((t) => t.source === s).map((t) => t.file),
      ...plan.layers.filter((l) => l.source === s).map((l) => l.file),
    ];
    const description = [
      ...plan.tables.filter((t) => t.source === s).map((t) => t.table.description),
      ...plan.layers.filter((l) => l.source === s).map((l) => l.layer.description),
    ].join(' ');
    datasets.push({
      meta: s,
      title: s.pipeline.source.title,
      description,
      files,
      theme: s.section?.theme ?? 'Données de référence',
      keywords: s.section?.keywords ?? [s.id],
      siret: s.section?.producerSiret ?? '',
    });
  }
  for (const d of datasets) {
    const [debut, fin] = yearBounds(d.meta.millesime, d.meta.publishedAt);
    const formats = [...new Set(d.files.map((f) => f.split('.').pop()!))].join(';');
    rows.push([
      c.nom,
      '',
      `${c.code}-${d.meta.id}`,
      `${d.title} : ${c.nom} (${c.code}), millésime ${d.meta.millesime}`,
      d.description || d.title,
      d.theme,
      d.meta.pipeline.source.producer,
      d.siret,
      maille,
      c.nom,
      debut,
      fin,
      d.meta.publishedAt,
      frequencyOfCron(d.meta.pipeline.source.schedule),
      d.meta.publishedAt,
      d.keywords.map(slugify).join(';'),
      scdlLicence(d.meta.pipeline.source.licence),
      String(d.files.length),
      formats,
      d.files.length === 1 ? `${plan.baseUrl}/communes/${c.code}/fichiers/${d.files[0]}` : `${plan.baseUrl}/communes/${c.code}/pack`,
    ]);
  }
  return toCsv(
    CATALOGUE_SCHEMA.fields.map((f) => f.name),
    rows,
  );
}

function readme(c: CommuneRow, plan: PackPlan, files: { name: string; what: string; source: string; millesime: string }[]): string {
  const lieu = c.type === 'arrondissement-municipal' ? `l'arrondissement municipal ${c.nom}` : `la commune de ${c.nom}`;
  const out: string[] = [];
  out.push(`# Données ouvertes de ${c.nom} (${c.code})`);
  out.push('');
  out.push(
    `Ce dossier est la « dotation de données » de ${lieu} (code INSEE ${c.code}${c.dep_nom ? `, ${c.dep_nom}` : ''}${c.reg_nom ? `, ${c.reg_nom}` : ''}). ` +
      `Il rassemble des données ouvertes publiées au niveau national et découpées pour votre territoire, prêtes à être publiées sur le portail de données de la commune ou sur data.gouv.fr.` +
      (plan.cog ? ` Les communes sont celles du code officiel géographique (COG) ${plan.cog.millesime}.` : ''),
  );
  out.push('');
  out.push('## Contenu');
  out.push('');
  out.push('| Fichier | Contenu | Source | Millésime |');
  out.push('|---|---|---|---|');
  for (const f of files) out.push(`| ${f.name} | ${f.what} | ${f.source} | ${f.millesime} |`);
  out.push(
    '| datapackage.json | Description technique de tous les fichiers (format Frictionless Data Package : colonnes, types, tailles, empreintes SHA-256) | dotation | |',
  );
  out.push('| catalogue.csv | Catalogue des jeux de données au format SCDL « catalogue » (OpenDataFrance) | dotation | |');
  out.push('| changes.json | Ce qui a changé depuis la version précédente de ce dossier | dotation | |');
  out.push('');
  out.push(
    "Les fichiers CSV sont encodés en UTF-8, avec le point-virgule comme séparateur : ils s'ouvrent dans un tableur (LibreOffice Calc, Excel via « Données > À partir d'un fichier texte/CSV »). La première ligne donne le nom des colonnes ; leur signification est décrite dans datapackage.json et ci-dessous.",
  );
  out.push('');
  if (plan.cog) {
    out.push('## La commune (commune.json)');
    out.push('');
    out.push(
      `Fiche d'identité de la commune : code INSEE, nom, département, région, intercommunalité (EPCI), SIREN, codes postaux, anciens codes et communes déléguées. ` +
        `Source : ${plan.cog.pipeline.source.producer}, ${plan.cog.pipeline.source.title}, millésime ${plan.cog.millesime}, ${plan.cog.pipeline.source.licence.title}.`,
    );
    out.push('');
  }
  for (const s of plan.sources) {
    if (!s.section) continue;
    out.push(s.section.readme({ millesime: s.millesime, publishedAt: s.publishedAt, details: s.details }).trim());
    out.push('');
  }
  const licences = [
    ...new Map(
      [plan.cog, ...plan.sources].filter(Boolean).map((s) => [s!.pipeline.source.licence.title, s!.pipeline.source.licence.url]),
    ).entries(),
  ];
  out.push('## Licence');
  out.push('');
  out.push('Chaque fichier garde la licence de sa source :');
  for (const [t, u] of licences) out.push(`- ${t} (${u})`);
  out.push('');
  out.push('## Comment citer');
  out.push('');
  out.push('Citez le producteur et le millésime de chaque donnée réutilisée, par exemple :');
  for (const s of [plan.cog, ...plan.sources].filter(Boolean))
    out.push(`- « Source : ${s!.pipeline.source.producer}, ${s!.pipeline.source.title}, millésime ${s!.millesime} »`);
  out.push('');
  out.push('## Publier ces données');
  out.push('');
  out.push('Sur data.gouv.fr :');
  out.push(
    "1. Créez un compte sur https://www.data.gouv.fr et rattachez-le à l'organisation de la commune (ou créez-la avec le SIRET de la mairie).",
  );
  out.push(
    '2. Pour chaque ligne de catalogue.csv, cliquez sur « Publier sur data.gouv.fr » > « Un jeu de données » ; reprenez le titre, la description, la licence et la fréquence de mise à jour indiqués.',
  );
  out.push(
    '3. Déposez le ou les fichiers correspondants (colonne FORMAT_RESSOURCES) comme ressources ; indiquez la commune comme couverture spatiale et le millésime comme couverture temporelle.',
  );
  out.push("4. Mentionnez la source d'origine (producteur et lien) dans la description.");
  out.push('');
  out.push(
    "Sur un portail local (plateforme régionale, départementale ou de l'intercommunalité) : catalogue.csv suit le schéma SCDL « catalogue » qu'acceptent la plupart de ces portails ; importez-le avec les fichiers. " +
      'Avant de le publier, complétez les colonnes COLL_SIRET (SIRET de la mairie, 14 chiffres) et, si vous les connaissez, PRODUCTEUR_SIRET : ces numéros ne figurent pas dans les données nationales.',
  );
  out.push('');
  out.push('## Mises à jour');
  out.push('');
  out.push(
    `La dernière version de ce dossier est toujours disponible à l'adresse ${plan.baseUrl}/communes/${c.code}/pack.zip ; la liste des versions et de leurs fichiers à l'adresse ${plan.baseUrl}/communes/${c.code}/pack.`,
  );
  out.push('');
  return out.join('\n');
}

/**
 * The data files of one commune pack, deterministic: same rows and sources → same bytes.
 * CSVs are validated against their Table Schema; an invalid file throws (the pack is not published).
 */
export function renderPack(c: CommuneRow, plan: PackPlan, data: CommuneData): RenderedPack {
  const files: PackFile[] = [];
  const listing: { name: string; what: string; source: string; millesime: string }[] = [];
  const donnees: RenderedPack['donnees'] = {};
  const dataFiles: PackFile[] = [];
  if (plan.cog)
    listing.push({
      name: 'commune.json',
      what: "Fiche d'identité de la commune",
      source: plan.cog.pipeline.source.producer,
      millesime: plan.cog.millesime,
    });
  for (const t of plan.tables) {
    if (t.table.perCommune) {
      const body = data.streamed?.get(t.file) ?? { chunks: [], rows: 0 };
      const header = Buffer.from(t.table.fields.map((f) => csvCell(f.name)).join(';') + '\n', 'utf8');
      const file = Buffer.concat([header, ...body.chunks]);
      const errors = validateCsv(headOfLines(file, STREAMED_SAMPLE_LINES), tableSchema(t.table.fields, t.table.primaryKey), 5);
      if (errors.length) throw new Error(`${c.code}/${t.file} does not follow its schema: ${errors.join('; ')}`);
      dataFiles.push({ name: t.file, data: file });
      listing.push({ name: t.file, what: t.table.title, source: t.source.pipeline.source.producer, millesime: t.source.millesime });
      (donnees[t.source.id] ??= { millesime: t.source.millesime, lignes: {} }).lignes[t.file] = body.rows;
      continue;
    }
    const rows = data.tables.get(t.file) ?? [];
    const csv = toCsv(
      t.table.fields.map((f) => f.name),
      rows,
    );
    const errors = validateCsv(csv, tableSchema(t.table.fields, t.table.primaryKey), 5);
    if (errors.length) throw new Error(`${c.code}/${t.file} does not follow its schema: ${errors.join('; ')}`);
    dataFiles.push({ name: t.file, data: Buffer.from(csv, 'utf8') });
    listing.push({ name: t.file, what: t.table.title, source: t.source.pipeline.source.producer, millesime: t.source.millesime });
    (donnees[t.source.id] ??= { millesime: t.source.millesime, lignes: {} }).lignes[t.file] = rows.length;
  }
  for (const l of plan.layers) {
    if (l.layer.perCommune) {
      const body = data.streamed?.get(l.file) ?? { chunks: [], rows: 0 };
      dataFiles.push({ name: l.file, data: Buffer.concat([GEOJSON_HEAD, ...body.chunks, GEOJSON_TAIL]) });
      listing.push({ name: l.file, what: l.layer.title, source: l.source.pipeline.source.producer, millesime: l.source.millesime });
      (donnees[l.source.id] ??= { millesime: l.source.millesime, lignes: {} }).lignes[l.file] = body.rows;
      continue;
    }
    const feats = data.layers.get(l.file) ?? [];
    dataFiles.push({ name: l.file, data: Buffer.from(geojson(feats), 'utf8') });
    listing.push({ name: l.file, what: l.layer.title, source: l.source.pipeline.source.producer, millesime: l.source.millesime });
    (donnees[l.source.id] ??= { millesime: l.source.millesime, lignes: {} }).lignes[l.file] = feats.length;
  }
  files.push({ name: 'LISEZMOI.md', data: Buffer.from(readme(c, plan, listing), 'utf8') });
  if (plan.cog) files.push({ name: 'commune.json', data: Buffer.from(communeJson(c, plan.cog), 'utf8') });
  const catalogue = catalogueCsv(c, plan);
  const catErrors = validateCsv(catalogue, CATALOGUE_SCHEMA, 5);
  if (catErrors.length) throw new Error(`${c.code}/catalogue.csv does not follow its schema: ${catErrors.join('; ')}`);
  files.push({ name: 'catalogue.csv', data: Buffer.from(catalogue, 'utf8') });
  files.push(...dataFiles);
  const h = crypto.createHash('sha256');
  for (const f of files)
    h.update(f.name)
      .update('\0')
      .update((f.sha256 ??= sha(f.data)))
      .update('\n');
  return { files, dataHash: h.digest('hex'), donnees };
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
      } as Record<string, { format: string; mediatype: string }>
    )[ext] ?? { format: ext, mediatype: 'application/octet-stream' }
  );
}

/** datapackage.json (Frictionless Data Package v2) describing every other file of the pack. */
export function datapackage(c: CommuneRow, plan: PackPlan, files: PackFile[]): string {
  const all = [plan.cog, ...plan.sources].filter(Boolean) as SourceMeta[];
  const licences = [
    ...new Map(
      all.map((s) => [
        licenceName(s.pipeline.source.licence),
        { name: licenceName(s.pipeline.source.licence), path: s.pipeline.source.licence.url, title: s.pipeline.source.licence.title },
      ]),
    ).values(),
  ];
  const srcOf = (s: SourceMeta) => ({
    title: `${s.pipeline.source.producer} — ${s.pipeline.source.title}`,
    path: s.pipeline.source.landingPage,
    version: s.millesime,
  });
  const resources = files.map((f) => {
    const base = f.name.replace(/\.[^.]+$/, '');
    const t = plan.tables.find((x) => x.file === f.name);
    const l = plan.layers.find((x) => x.file === f.name);
    const r: Record<string, unknown> = {
      name: slugify(base).replace(/-/g, '_') || 'fichier',
      path: f.name,
      ...mediatype(f.name),
      encoding: 'utf-8',
    };
    if (t) {
      Object.assign(r, {
        type: 'table',
        title: t.table.title,
        description: t.table.description,
        dialect: t.table.perCommune ? { delimiter: ';', lineTerminator: '\n' } : { delimiter: ';' },
        schema: tableSchema(t.table.fields, t.table.primaryKey),
        sources: [srcOf(t.source)],
        licenses: [{ name: licenceName(t.source.pipeline.source.licence), path: t.source.pipeline.source.licence.url }],
      });
    } else if (l) {
      Object.assign(r, {
        title: l.layer.title,
        description: l.layer.description,
        sources: [srcOf(l.source)],
        licenses: [{ name: licenceName(l.source.pipeline.source.licence), path: l.source.pipeline.source.licence.url }],
      });
    } else if (f.name === 'catalogue.csv') {
      Object.assign(r, {
        type: 'table',
        title: 'Catalogue des jeux de données (SCDL catalogue)',
        description: `Une ligne par jeu de données du dossier, selon le schéma SCDL catalogue ${SCDL_CATALOGUE_VERSION} (${SCDL_CATALOGUE_URL}). COLL_SIRET et PRODUCTEUR_SIRET sont à compléter par la commune.`,
        dialect: { delimiter: ';' },
        schema: CATALOGUE_SCHEMA,
      });
    } else if (f.name === 'commune.json' && plan.cog) {
      Object.assign(r, { title: "Fiche d'identité de la commune", sources: [srcOf(plan.cog)] });
    } else if (f.name === 'LISEZMOI.md') {
      Object.assign(r, { title: 'Lisez-moi : présentation du dossier en français' });
    } else if (f.name === 'changes.json') {
      Object.assign(r, { title: 'Changements depuis la version précédente' });
    }
    r.bytes = f.data.length;
    r.hash = `sha256:${f.sha256 ?? sha(f.data)}`;
    return r;
  });
  const dp = {
    $schema: 'https://datapackage.org/profiles/2.0/datapackage.json',
    name: `dotation-${c.code.toLowerCase()}`,
    id: `${plan.baseUrl}/communes/${c.code}/pack`,
    title: `Données ouvertes de ${c.nom} (${c.code})`,
    description: `Dotation de données de ${c.nom} : données ouvertes nationales découpées pour la commune (code INSEE ${c.code}).`,
    homepage: `${plan.baseUrl}/communes/${c.code}`,
    keywords: ['commune', c.code, slugify(c.nom), ...all.map((s) => s.id)],
    licenses: licences,
    sources: all.map(srcOf),
    resources,
  };
  return JSON.stringify(dp, null, 2) + '\n';
}
