import type { SourceDeclaration } from '../../config/sources';
import { readPackageArray } from '../cog/embedded';

/**
 * Etalab « contours administratifs »: commune (with arrondissements municipaux) and département
 * polygons derived from IGN ADMIN EXPRESS COG, one folder per COG year, four generalisations
 * (5 m, 50 m, 100 m, 1000 m), WGS84, properties {code, nom, departement, region, epci, plm,
 * commune}. The COG year of the folder is the edition. Any other file with {code, nom}
 * properties works (GeoJSON, GeoPackage, FlatGeobuf, Shapefile, or an IGN .7z): its COG year is
 * read from its name, else stated with `--millesime`; contours are re-coded to the current COG.
 */
const ETALAB = 'https://etalab-datasets.geo.data.gouv.fr/contours-administratifs';
/** The newest COG year seen published (the folder `latest` also exists, without its year). */
const YEAR = 2025;
const PAGE = 'https://github.com/etalab/contours-administratifs';
const EVIDENCE = `${ETALAB}/${YEAR}/geojson/communes-100m.geojson in etalab/transport-site@06c2f3e apps/transport/lib/mix/tasks/transport/import_communes.ex, and 2024/departements-100m.geojson in import_departements.ex; layout in etalab/contours-administratifs@55d802c README.md`;
/** `…/contours-administratifs/2025/geojson/…` → 2025. */
const FROM_URL = { from: 'url', pattern: '/contours-administratifs/(\\d{4})/' } as const;

/** france-geojson folder slug of a département: 'Ille-et-Vilaine' → 'ille-et-vilaine', "Côtes-d'Armor" → 'cotes-d-armor'. */
export function departementSlug(nom: string): string {
  return nom
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * Per-département files of an older redistribution of ADMIN EXPRESS COG 2018 (france-geojson,
 * `communes-35-ille-et-vilaine.geojson`), such as the offline copies in ../shared/data/geo:
 * recognised in MIRROR_DIR by these names only, never downloaded, COG 2018 as those files are.
 */
const perDepartement = (readPackageArray('departements') as { code: string; nom: string }[]).flatMap(({ code, nom }) => {
  const dir = `${code}-${departementSlug(nom)}`;
  const legacy = {
    edition: { value: '2018' },
    page: 'https://geoservices.ign.fr/adminexpress',
    evidence: 'ADMIN EXPRESS COG 2018 simplified, per ../shared/data/README.md (hand-copied files)',
    optional: true,
    mirrorOnly: true,
  };
  return [
    { name: `communes-${code}`, mirrorNames: [`communes-${dir}.geojson`], ...legacy },
    { name: `departement-${code}`, mirrorNames: [`departement-${dir}.geojson`], ...legacy },
  ];
});

export const source: SourceDeclaration = {
  id: 'contours',
  title: 'Contours des communes',
  producer: 'IGN (ADMIN EXPRESS COG), contours administratifs Etalab',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'geojson',
  schedule: '0 4 15 2 *',
  resources: [
    {
      name: 'communes',
      url: `${ETALAB}/${YEAR}/geojson/communes-50m.geojson`,
      edition: FROM_URL,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['communes-50m.geojson', 'communes-100m.geojson', 'communes-1000m.geojson', 'communes-5m.geojson'],
      optional: true,
    },
    {
      name: 'departements',
      url: `${ETALAB}/${YEAR}/geojson/departements-50m.geojson`,
      edition: FROM_URL,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['departements-50m.geojson', 'departements-100m.geojson', 'departements-1000m.geojson', 'departements-5m.geojson'],
      optional: true,
    },
    ...perDepartement,
  ],
  // Per-département files replace only their départements (a Rennes-only file is compared with the 333 contours of 35).
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'departement', table: 'commune_contours', departement: 'departement' },
};

/** Simplification tolerance of `geom_simple`, in degrees (0.0001° ≈ 10 m). */
export const SIMPLIFY_TOLERANCE = 0.0001;
