import { settings } from '../../config/settings';
import { pool } from '../db/pool';
import { PackManifest, latestVersion, readManifestAsync } from '../packs/store';
import { geometries } from '../geo/zone-geometry';
import { PackDataset, baseUrl, fileUrl, packDatasets } from '../packs/datasets';
import { CommuneRec, referential } from '../communes/referential';
import { Graph, Term, dateTime, fr, iri, lit, q } from './rdf';

/**
 * The DCAT catalog for data.gouv.fr (harvest-and-schemas.md §1.2, §1.4, §5): one dataset per
 * (commune with a built pack) × (the pack, each published source of the pack), each with all its
 * distributions on the same page, Hydra-paged. Identifiers and download URLs are stable across
 * builds (no version in them); checksums and sizes come from the pack manifest (latest.json).
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
const ANNUAL = 'http://publications.europa.eu/resource/authority/frequency/ANNUAL';
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

/** One slice of them, in code order (the stable sort of the pages). */
async function communesWithPack(offset: number, limit: number, only?: string): Promise<string[]> {
  const { rows } = await pool().query(
    `select b.code from pack_builds b where ${HAS_COMMUNE} ${only ? 'and b.code = $3' : ''} order by b.code offset $1 limit $2`,
    only ? [offset, limit, only] : [offset, limit],
  );
  return rows.map((r) => r.code as string);
}

const datasetIri = (code: string, d: PackDataset) => `${baseUrl()}/id/communes/${code}/${d.source ?? 'pack'}`;

function addDataset(
  g: Graph,
  c: CommuneRec,
  d: PackDataset,
  manifest: PackManifest | null,
  spatial: { insee?: string; wkt?: string | null },
  operator: Term,
): Term {
  const id = datasetIri(c.code, d);
  const ds = iri(id);
  const latest = latestVersion(manifest);
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
    .filter((x): x is Date => Boolean(x))
    .sort((a, b) => a.getTime() - b.getTime());
  const issued = issuedCandidates[0] && modified && issuedCandidates[0] <= modified ? issuedCandidates[0] : modified;
  // The IRIs in object position are typed with the classes DCAT-AP 3 gives their property's range
  // (range.ttl, dcat-ap-SHACL.ttl; test/fixtures/shacl): a type only, no label, so udata still reads
  // the IRI itself (udata/rdf.py serialize_value takes an rdfs:label over the IRI, nothing else).
  const licence = iri(d.license.url);
  const landing = iri(`${baseUrl()}/communes/${c.code}`);
  g.typeOnce(licence, 'dct:LicenseDocument').typeOnce(iri(ANNUAL), 'dct:Frequency').typeOnce(landing, 'foaf:Document');
  g.type(ds, 'dcat:Dataset')
    .add(ds, 'dct:identifier', lit(id))
    .add(ds, 'dct:title', fr(`${d.title} – ${c.nom} (${c.code})`))
    .add(
      ds,
      'dct:description',
      fr(`${d.description}\n\nExtrait pour la commune de ${c.nom} (code INSEE ${c.code}). Producteur : ${d.producer}.`),
    )
    .add(ds, 'dcat:keyword', [fr(c.nom), fr(d.source ?? 'dotation'), fr('commune')])
    .add(ds, 'dct:publisher', operator)
    .add(ds, 'dct:license', licence)
    .add(ds, 'dct:accrualPeriodicity', iri(ANNUAL))
    .add(ds, 'dcat:landingPage', landing);
  if (issued) g.add(ds, 'dct:issued', dateTime(issued));
  if (modified) g.add(ds, 'dct:modified', dateTime(modified));
  if (spatial.insee) g.add(ds, 'dct:spatial', iri(spatial.insee)).typeOnce(iri(spatial.insee), 'dct:Location');
  if (spatial.wkt) {
    const loc = g.bnode();
    g.add(ds, 'dct:spatial', loc)
      .type(loc, 'dct:Location')
      .add(loc, 'dcat:bbox', lit(spatial.wkt, { datatype: 'gsp:wktLiteral' }));
  }
  if (d.millesime && /^\d{4}$/.test(d.millesime)) {
    const t = g.bnode();
    g.add(ds, 'dct:temporal', t)
      .type(t, 'dct:PeriodOfTime')
      .add(t, 'dcat:startDate', lit(`${d.millesime}-01-01`, { datatype: 'xsd:date' }))
      .add(t, 'dcat:endDate', lit(`${d.millesime}-12-31`, { datatype: 'xsd:date' }));
  }
  const vintage = d.millesime ?? 'courant';
  for (const f of d.files) {
    const built =
      f.name === 'pack.zip'
        ? latest
          ? { bytes: latest.bytes, sha256: latest.sha256 }
          : undefined
        : latest?.files.find((x) => x.name === f.name);
    // A file missing from the built pack is not downloadable: no distribution for it.
    if (manifest && !built) continue;
    const dist = iri(`${id}/${vintage}/${f.name}`);
    const url = fileUrl(c.code, f.name);
    const format = iri(FILE_TYPES[f.format].eu);
    const media = iri(FILE_TYPES[f.format].mime);
    g.typeOnce(format, 'dct:MediaTypeOrExtent').typeOnce(media, 'dct:MediaType');
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
    if (built) {
      const ck = g.bnode();
      const sha256 = iri(q('spdx:checksumAlgorithm_sha256'));
      g.typeOnce(sha256, 'spdx:ChecksumAlgorithm');
      g.add(dist, 'dcat:byteSize', lit(built.bytes, { datatype: 'xsd:nonNegativeInteger' }))
        .add(dist, 'spdx:checksum', ck)
        .type(ck, 'spdx:Checksum')
        .add(ck, 'spdx:algorithm', sha256)
        // A plain string, not xsd:hexBinary (our one deviation from DCAT-AP 3.0.1, listed in
        // test/catalog.test.ts): rdflib turns hexBinary into bytes, udata stores a string (harvest-and-schemas.md §1.2).
        .add(ck, 'spdx:checksumValue', lit(built.sha256));
    }
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
  const ref = await referential();
  const datasets = await packDatasets();
  const perCommune = datasets.length;
  const count = await countCommunesWithPack(opts.code);
  const communesPerPage = Math.max(1, Math.floor(opts.pageSize / perCommune));
  const lastPage = Math.max(1, Math.ceil(count / communesPerPage));
  if (opts.page > lastPage) return { error: 404, message: `la page ${opts.page} n’existe pas (dernière page : ${lastPage})` };
  const slice = await communesWithPack((opts.page - 1) * communesPerPage, communesPerPage, opts.code);
  const base = baseUrl();
  const catalogPath = opts.code ? `/communes/${opts.code}/catalog` : '/catalog';
  const g = new Graph();
  const catalog = iri(`${base}${catalogPath}`);
  const operator = iri(`${base}/id/operateur`);
  const pageUrl = (n: number) =>
    `${base}${catalogPath}.${opts.format}?page=${n}${opts.pageSize !== DEFAULT_PAGE_SIZE ? `&page_size=${opts.pageSize}` : ''}`;
  const commune = opts.code ? ref.current.get(opts.code) : undefined;
  g.type(catalog, 'dcat:Catalog', 'hydra:Collection')
    .add(catalog, 'dct:title', fr(commune ? `Dotation de données – ${commune.nom} (${commune.code})` : 'Dotation de données communales'))
    .add(
      catalog,
      'dct:description',
      fr(
        commune
          ? `Jeux de données ouverts nationaux découpés pour la commune de ${commune.nom}, avec le paquet complet.`
          : 'Extraits communaux de jeux de données ouverts nationaux : un paquet par commune et un jeu par source.',
      ),
    )
    .add(catalog, 'dct:publisher', operator)
    .add(catalog, 'foaf:homepage', iri(`${base}/`))
    .add(catalog, 'dct:language', iri(FRENCH))
    .add(catalog, 'hydra:totalItems', lit(count * perCommune, { datatype: 'xsd:integer' }));
  const view = iri(pageUrl(opts.page));
  g.add(catalog, 'hydra:view', view)
    .type(view, 'hydra:PartialCollectionView')
    .add(view, 'hydra:first', iri(pageUrl(1)))
    .add(view, 'hydra:last', iri(pageUrl(lastPage)));
  if (opts.page < lastPage) g.add(view, 'hydra:next', iri(pageUrl(opts.page + 1)));
  if (opts.page > 1) g.add(view, 'hydra:previous', iri(pageUrl(opts.page - 1)));
  // foaf:Agent too: the DCAT-AP shapes target foaf:Agent, and a SHACL validator does not infer it from foaf:Organization.
  g.type(operator, 'foaf:Organization', 'foaf:Agent').add(operator, 'foaf:name', lit('Opérateur de la dotation'));
  g.typeOnce(iri(`${base}/`), 'foaf:Document').typeOnce(iri(FRENCH), 'dct:LinguisticSystem');

  const codes = slice;
  const wkts = await geometries('commune', codes, { wkt: true });
  const manifests = await Promise.all(codes.map((c) => readManifestAsync(settings().PACKS_DIR, c).catch(() => null)));
  slice.forEach((code, i) => {
    const c = ref.current.get(code);
    if (!c) return;
    const spatial = { insee: ref.inseeUris.get(`fr:commune:${c.code}`), wkt: wkts.get(c.code)?.bboxWkt };
    for (const d of datasets) g.add(catalog, 'dcat:dataset', addDataset(g, c, d, manifests[i], spatial, operator));
  });
  const packs = slice.map((code, i) => ({ code, sha256: latestVersion(manifests[i])?.sha256 ?? null }));
  return { graph: g, page: opts.page, lastPage, totalItems: count * perCommune, packs };
}
