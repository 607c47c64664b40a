import type { SourceDeclaration } from '../../config/sources';
import { readPackageArray } from '../cog/embedded';

const FRANCE_GEOJSON = 'https://raw.githubusercontent.com/gregoiredavid/france-geojson/master';

/** france-geojson folder slug of a département: 'Ille-et-Vilaine' → 'ille-et-vilaine', "Côtes-d'Armor" → 'cotes-d-armor'. */
export function departementSlug(nom: string): string {
  return nom
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Per-département files of the same redistribution (`departements/35-ille-et-vilaine/communes-35-ille-et-vilaine.geojson`): read from the mirror only. */
const perDepartement = (readPackageArray('departements') as { code: string; nom: string }[]).flatMap(({ code, nom }) => {
  const dir = `${code}-${departementSlug(nom)}`;
  return [
    {
      name: `communes-${code}`,
      url: `${FRANCE_GEOJSON}/departements/${dir}/communes-${dir}.geojson`,
      mirrorNames: [`communes-${dir}.geojson`],
      optional: true,
      mirrorOnly: true,
    },
    {
      name: `departement-${code}`,
      url: `${FRANCE_GEOJSON}/departements/${dir}/departement-${dir}.geojson`,
      mirrorNames: [`departement-${dir}.geojson`],
      optional: true,
      mirrorOnly: true,
    },
  ];
});

/**
 * Commune and département polygons. Default: the GeoJSON redistribution of IGN ADMIN EXPRESS
 * by gregoiredavid/france-geojson (properties {code, nom}, WGS84, simplified), COG 2018.
 * Any other file with {code, nom} properties works (GeoJSON, GeoPackage, FlatGeobuf, Shapefile,
 * or an IGN .7z): declare its COG year in COG_BY_RESOURCE, contours are re-coded to the current COG.
 */
export const source: SourceDeclaration = {
  id: 'contours',
  title: 'Contours des communes',
  producer: 'IGN (ADMIN EXPRESS COG), redistribution france-geojson',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://github.com/gregoiredavid/france-geojson',
  format: 'geojson',
  schedule: '0 4 15 2 *',
  millesime: '2018',
  resources: [
    {
      name: 'communes',
      url: 'https://raw.githubusercontent.com/gregoiredavid/france-geojson/master/communes.geojson',
      mirrorNames: ['communes.geojson', 'communes-version-simplifiee.geojson'],
      optional: true,
    },
    {
      name: 'departements',
      url: 'https://raw.githubusercontent.com/gregoiredavid/france-geojson/master/departements.geojson',
      mirrorNames: ['departements.geojson', 'departements-version-simplifiee.geojson'],
      optional: true,
    },
    ...perDepartement,
  ],
};

/** COG year of each resource's codes (france-geojson is ADMIN EXPRESS COG 2018). */
export const COG_BY_RESOURCE: Record<string, number> = { communes: 2018, departements: 2018 };

/** Simplification tolerance of `geom_simple`, in degrees (0.0001° ≈ 10 m). */
export const SIMPLIFY_TOLERANCE = 0.0001;
