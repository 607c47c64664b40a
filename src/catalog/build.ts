import { settings } from '../../config/settings';
import { pool } from '../db/pool';
import { PackManifest, latestVersion, readManifestAsync } from '../packs/store';
import { geometries } from '../geo/zone-geometry';
import { PackDataset, baseUrl, fileUrl, packDatasets } from '../packs/datasets';
import { CommuneRec, referential } from '../communes/referential';
import { Graph, Term, dateTime, fr, iri, lit, q } from './rdf';
import { deCommune } from '../communes/names';
import type { ScdlFrequency } from '../packs/section';

/**
 * The DCAT catalogs for data.gouv.fr (harvest-and-schemas.md §1.2, §1.4, §5).
 * - A commune's catalog (/communes/{code}/catalog.*): its pack, and one dataset per source that has
 *   at least one file in its pack (a source with no row for the commune has no dataset).
 * - The national catalog (/catalog.*): one dataset per commune, its pack, with the pack's files as
 *   distributions. Per-source extracts stay in the communes' own catalogs: a national harvest of
 *   35,000 × sources near-empty extracts is what data.gouv.fr should not be asked to take.
 * Every dataset has a real publisher (settings PUBLISHER_NAME), its HTML page as dcat:landingPage,
 * and points to the national datasets it is cut from (dct:source, prov:wasDerivedFrom).
 * Identifiers and download URLs are stable across builds (no version in them); checksums and sizes
 * come from the pack manifest (latest.json).
 */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 200;

const FILE_TYPES = {
  csv: {
    eu: 'http://publications.europa.eu/resource/authority/file-type/CSV',
    mime: 'https://www.iana.org/assignments/media-types/text/csv',
  },
  geojson: {
    eu: 'http://publications.europa.eu/resource/authority/file-type/GEOJSON',
    mime: 'https://www.iana.org/assignments/media-types/application/geo+json',
  },
  zip: {
    eu: 'http://publications.europa.eu/resource/authority/file-type/ZIP',
    mime: 'https://www.iana.org/assignments/media-types/application/zip',
  },
} as const;
const EU_FREQUENCY = 'http://publications.europa.eu/resource/authority/frequency/';
/** SCDL FREQ_MAJ (the sources' declaration) → EU frequency authority table. */
const FREQUENCIES: Record<ScdlFrequency, string> = {
  Ponctuelle: 'NEVER',
  Irrégulière: 'IRREG',
  Continuelle: 'CONT',
  'Quotidienne ou plusieurs fois par jour': 'DAILY',
  'Hebdomadaire ou plusieurs fois par semaine': 'WEEKLY',
  'Mensuelle ou plusieurs fois par mois': 'MONTHLY',
  Trimestrielle: 'QUARTERLY',
  Semestrielle: 'ANNUAL_2',
  Annuelle: 'ANNUAL',
};
const FRENCH = 'http://publications.europa.eu/resource/authority/language/FRA';

export type CatalogFormat = 'jsonld' | 'ttl' | 'rdf';

export interface CatalogPage {
  graph: Graph;
  page: number;
  lastPage: number;
  totalItems: number;
  /** The pack version each commune of the page was described with (sha256 of its latest ZIP, null: none on disk). */
  packs: { code: string; sha256: string | null }[];
}

const HAS_COMMUNE = `exists (select 1 from communes c where c.code = b.code and c.type in ('commune-actuelle', 'arrondissement-municipal'))`;

/** Count of current communes that have a built pack (`only`: just that one). */
async function countCommunesWithPack(only?: string): Promise<number> {
  const { rows } = await pool().query(
    `select count(*)::int as n from pack_builds b where ${HAS_COMMUNE} ${only ? 'and b.code = $1' : ''}`,
    only ? [only] : [],
  );
  return rows[0].n;
}

/** One slice of them, in code order (the stable sort of the pages), with the sources each pack holds rows of. */
async function communesWithPack(offset: number, limit: number, only?: string): Promise<{ code: string; sources: Set<string> }[]> {
  const { rows } = await pool().query(
    `select b.code, b.donnees from pack_builds b where ${HAS_COMMUNE} ${only ? 'and b.code = $3' : ''} order by b.code offset $1 limit $2`,
    only ? [offset, limit, only] : [offset, limit],
  );
  return rows.map((r) => ({ code: r.code as string, sources: new Set(Object.keys((r.donnees ?? {}) as object)) }));
}

const datasetIri = (code: string, d: PackDataset) => `${baseUrl()}/id/communes/${code}/${d.source ?? 'pack'}`;

/** The publisher of the catalogs, from settings: null when PUBLISHER_NAME is not set (the routes then answer 503). */
function publisherOf(): { iri: string; name: string } | null {
  const s = settings();
  if (!s.PUBLISHER_NAME) return null;
  return { iri: s.PUBLISHER_URL ?? `${baseUrl()}/id/editeur`, name: s.PUBLISHER_NAME };
}

interface DatasetInput {
  c: CommuneRec;
  d: PackDataset;
  /** For the pack: the source datasets it holds (their national datasets are its sources). */
  parts: PackDataset[];
  manifest: PackManifest | null;
  spatial: { insee?: string; wkt?: string | null };
  publisher: Term;
  /** Files the dataset is distributed as (the pack's own files in the national catalog). */
  files: PackDataset['files'];
}

function addDataset(g: Graph, x: DatasetInput): Term | null {
  const { c, d, manifest, spatial, publisher } = x;
  const id = datasetIri(c.code, d);
  const ds = iri(id);
  const latest = latestVersion(manifest);
  // Only files the built pack holds: an empty extract is never shipped, so never catalogued.
  const dists = x.files
    .map((f) => ({
      f,
      built:
        f.name === 'pack.zip'
          ? latest
            ? { bytes: latest.bytes, sha256: latest.sha256 }
            : undefined
          : latest?.files.find((y) => y.name === f.name),
    }))
    .filter((y) => y.built && y.built.bytes > 0);
  if (!dists.length) return null;
  const builtAt = latest?.createdAt ? new Date(latest.createdAt) : null;
  // dct:modified is when the dataset's data last changed for this commune: the date the builder recorded
  // per source (a version that leaves a source's files byte-identical keeps its date), not the build date
  // nor the source's national publication. Manifests written before that record fall back to those.
  const changedAt = latest?.modified?.[d.source ?? 'pack'];
  const modified = changedAt
    ? new Date(changedAt)
    : d.source
      ? d.publishedAt
        ? new Date(d.publishedAt)
        : builtAt
      : (builtAt ?? (d.publishedAt ? new Date(d.publishedAt) : null));
  const issuedCandidates = [d.publishedAt ? new Date(d.publishedAt) : null, builtAt]
    .filter((y): y is Date => Boolean(y))
    .sort((a, b) => a.getTime() - b.getTime());
  const issued = issuedCandidates[0] && modified && issuedCandidates[0] <= modified ? issuedCandidates[0] : modified;
  // The IRIs in object position are typed with the classes DCAT-AP 3 gives their property's range
  // (range.ttl, dcat-ap-SHACL.ttl; test/fixtures/shacl): a type only, no label, so udata still reads
  // the IRI itself (udata/rdf.py serialize_value takes an rdfs:label over the IRI, nothing else).
  const licence = iri(d.license.url);
  // The commune's page in French (the site), the section of this source for a source dataset.
  const landing = iri(`${baseUrl()}/communes/${c.code}/page${d.source ? `#${d.source}` : ''}`);
  const frequency = iri(EU_FREQUENCY + (d.frequency ? FREQUENCIES[d.frequency] : 'IRREG'));
  g.typeOnce(licence, 'dct:LicenseDocument').typeOnce(frequency, 'dct:Frequency').typeOnce(landing, 'foaf:Document');
  g.type(ds, 'dcat:Dataset')
    .add(ds, 'dct:identifier', lit(id))
    .add(ds, 'dct:title', fr(`${d.title} – ${c.nom} (${c.code})`))
    .add(
      ds,
      'dct:description',
      fr(
        `${
          d.source
            ? d.description
            : // The pack of this commune: what it holds here, not every source of the server.
              `Paquet de données ouvertes de la commune : fiche d'identité (commune.json)${x.parts.map((p) => `, ${p.title}`).join('')}, avec LISEZMOI et datapackage.json.`
        }\n\nExtrait pour la commune ${deCommune(c.nom, c.tncc)} (code INSEE ${c.code}). Producteur : ${d.producer}.${
          d.source && d.millesime ? ` Édition des données : ${d.millesime}.` : ''
        }`,
      ),
    )
    .add(ds, 'dcat:keyword', [fr(c.nom), fr(d.source ?? 'dotation'), fr('commune')])
    .add(ds, 'dct:publisher', publisher)
    .add(ds, 'dct:license', licence)
    .add(ds, 'dct:accrualPeriodicity', frequency)
    .add(ds, 'dcat:landingPage', landing);
  // The national datasets this extract is cut from (udata reads neither; DCAT-AP and other harvesters do).
  // Left untyped on purpose: udata harvests every node typed dcat:Dataset in the graph as a dataset of ours.
  for (const src of [...new Set((d.source ? [d] : x.parts).map((p) => p.landingPage).filter((u): u is string => Boolean(u)))])
    g.add(ds, 'dct:source', iri(src)).add(ds, 'prov:wasDerivedFrom', iri(src));
  if (issued) g.add(ds, 'dct:issued', dateTime(issued));
  if (modified) g.add(ds, 'dct:modified', dateTime(modified));
  if (spatial.insee) g.add(ds, 'dct:spatial', iri(spatial.insee)).typeOnce(iri(spatial.insee), 'dct:Location');
  if (spatial.wkt) {
    const loc = g.bnode();
    g.add(ds, 'dct:spatial', loc)
      .type(loc, 'dct:Location')
      .add(loc, 'dcat:bbox', lit(spatial.wkt, { datatype: 'gsp:wktLiteral' }));
  }
  // The edition loaded, as the run recorded it (a year, a month, the BAN's day): a harvester sees it
  // without opening the files; a year is also the period the data covers.
  if (d.millesime) g.add(ds, 'dcat:version', lit(d.millesime));
  if (d.millesime && /^\d{4}$/.test(d.millesime)) {
    const t = g.bnode();
    g.add(ds, 'dct:temporal', t)
      .type(t, 'dct:PeriodOfTime')
      .add(t, 'dcat:startDate', lit(`${d.millesime}-01-01`, { datatype: 'xsd:date' }))
      .add(t, 'dcat:endDate', lit(`${d.millesime}-12-31`, { datatype: 'xsd:date' }));
  }
  const vintage = d.millesime ?? 'courant';
  for (const { f, built } of dists) {
    const dist = iri(`${id}/${vintage}/${f.name}`);
    const url = fileUrl(c.code, f.name);
    const format = iri(FILE_TYPES[f.format].eu);
    const media = iri(FILE_TYPES[f.format].mime);
    const ck = g.bnode();
    const sha256 = iri(q('spdx:checksumAlgorithm_sha256'));
    g.typeOnce(format, 'dct:MediaTypeOrExtent').typeOnce(media, 'dct:MediaType').typeOnce(sha256, 'spdx:ChecksumAlgorithm');
    g.add(ds, 'dcat:distribution', dist);
    g.type(dist, 'dcat:Distribution')
      .add(dist, 'dct:identifier', lit(`${id}/${vintage}/${f.name}`))
      .add(dist, 'dct:title', lit(f.name))
      .add(dist, 'dct:description', fr(f.title))
      .add(dist, 'dcat:downloadURL', iri(url))
      .add(dist, 'dcat:accessURL', iri(url))
      .add(dist, 'dct:format', format)
      .add(dist, 'dcat:mediaType', media)
      .add(dist, 'dct:license', licence);
    if (modified) g.add(dist, 'dct:modified', dateTime(modified));
    g.add(dist, 'dcat:byteSize', lit(built!.bytes, { datatype: 'xsd:nonNegativeInteger' }))
      .add(dist, 'spdx:checksum', ck)
      .type(ck, 'spdx:Checksum')
      .add(ck, 'spdx:algorithm', sha256)
      // A plain string, not xsd:hexBinary (our one deviation from DCAT-AP 3.0.1, listed in
      // test/catalog.test.ts): rdflib turns hexBinary into bytes, udata stores a string (harvest-and-schemas.md §1.2).
      .add(ck, 'spdx:checksumValue', lit(built!.sha256));
  }
  return ds;
}

/**
 * One page of the national catalog (`code` undefined) or of one commune's catalog.
 * `pageSize` counts datasets; a commune's datasets never straddle two pages.
 */
export async function buildCatalogPage(opts: {
  code?: string;
  page: number;
  pageSize: number;
  format: CatalogFormat;
}): Promise<CatalogPage | { error: number; message: string }> {
  const publisherInfo = publisherOf();
  if (!publisherInfo)
    return {
      error: 503,
      message:
        "catalogue DCAT non publié : l'éditeur n'est pas renseigné (réglez PUBLISHER_NAME, le nom de l'organisation qui publie ces données, et PUBLISHER_URL)",
    };
  const ref = await referential();
  const datasets = await packDatasets();
  const pack = datasets.find((d) => d.source === null)!;
  const count = await countCommunesWithPack(opts.code);
  // National: one dataset per commune (its pack). A commune's own catalog: one page, its pack and its sources.
  const communesPerPage = opts.code ? 1 : opts.pageSize;
  const lastPage = Math.max(1, Math.ceil(count / communesPerPage));
  if (opts.page > lastPage) return { error: 404, message: `la page ${opts.page} n’existe pas (dernière page : ${lastPage})` };
  const slice = await communesWithPack((opts.page - 1) * communesPerPage, communesPerPage, opts.code);
  const base = baseUrl();
  const catalogPath = opts.code ? `/communes/${opts.code}/catalog` : '/catalog';
  const g = new Graph();
  const catalog = iri(`${base}${catalogPath}`);
  const publisher = iri(publisherInfo.iri);
  const pageUrl = (n: number) =>
    `${base}${catalogPath}.${opts.format}?page=${n}${opts.pageSize !== DEFAULT_PAGE_SIZE ? `&page_size=${opts.pageSize}` : ''}`;
  const commune = opts.code ? ref.current.get(opts.code) : undefined;
  const codes = slice.map((x) => x.code);
  const wkts = await geometries('commune', codes, { wkt: true });
  const manifests = await Promise.all(codes.map((c) => readManifestAsync(settings().PACKS_DIR, c).catch(() => null)));
  const added: Term[] = [];
  slice.forEach(({ code, sources }, i) => {
    const c = ref.current.get(code);
    if (!c) return;
    const spatial = { insee: ref.inseeUris.get(`fr:commune:${c.code}`), wkt: wkts.get(c.code)?.bboxWkt };
    const parts = datasets.filter((d) => d.source && sources.has(d.source));
    const base = { c, manifest: manifests[i], spatial, publisher, parts };
    if (opts.code) {
      const own = [{ ...base, d: pack, files: pack.files }, ...parts.map((d) => ({ ...base, d, files: d.files }))];
      for (const x of own) {
        const ds = addDataset(g, x);
        if (ds) added.push(ds);
      }
    } else {
      const ds = addDataset(g, { ...base, d: pack, files: [...pack.files, ...parts.flatMap((p) => p.files)] });
      if (ds) added.push(ds);
    }
  });
  // hydra:totalItems counts what the pages list: for a commune, its datasets; nationally, the communes with a pack.
  const totalItems = opts.code ? added.length : count;
  g.type(catalog, 'dcat:Catalog', 'hydra:Collection')
    .add(catalog, 'dct:title', fr(commune ? `Dotation de données – ${commune.nom} (${commune.code})` : 'Dotation de données communales'))
    .add(
      catalog,
      'dct:description',
      fr(
        commune
          ? `Jeux de données ouverts nationaux découpés pour la commune ${deCommune(commune.nom, commune.tncc)}, avec le paquet complet.`
          : 'Un paquet de données ouvertes par commune : des extraits communaux de jeux de données nationaux. Les extraits source par source sont dans le catalogue de chaque commune (/communes/{code}/catalog.jsonld).',
      ),
    )
    .add(catalog, 'dct:publisher', publisher)
    .add(catalog, 'foaf:homepage', iri(`${base}/`))
    .add(catalog, 'dct:language', iri(FRENCH))
    .add(catalog, 'hydra:totalItems', lit(totalItems, { datatype: 'xsd:integer' }));
  for (const ds of added) g.add(catalog, 'dcat:dataset', ds);
  const view = iri(pageUrl(opts.page));
  g.add(catalog, 'hydra:view', view)
    .type(view, 'hydra:PartialCollectionView')
    .add(view, 'hydra:first', iri(pageUrl(1)))
    .add(view, 'hydra:last', iri(pageUrl(lastPage)));
  if (opts.page < lastPage) g.add(view, 'hydra:next', iri(pageUrl(opts.page + 1)));
  if (opts.page > 1) g.add(view, 'hydra:previous', iri(pageUrl(opts.page - 1)));
  // foaf:Agent too: the DCAT-AP shapes target foaf:Agent, and a SHACL validator does not infer it from foaf:Organization.
  g.type(publisher, 'foaf:Organization', 'foaf:Agent').add(publisher, 'foaf:name', lit(publisherInfo.name));
  g.typeOnce(iri(`${base}/`), 'foaf:Document').typeOnce(iri(FRENCH), 'dct:LinguisticSystem');
  const packs = slice.map(({ code }, i) => ({ code, sha256: latestVersion(manifests[i])?.sha256 ?? null }));
  return { graph: g, page: opts.page, lastPage, totalItems, packs };
}
