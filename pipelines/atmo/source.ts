import type { SourceDeclaration } from '../../config/sources';

/**
 * Indice ATMO, the national daily air-quality index (arrêté du 10 juillet 2020, in force since
 * 1 January 2021), published by Atmo France for the regional AASQA. The public WFS layer
 * `ind:ind_atmo_2021` gives the current days as GeoJSON; the API v2
 * (`admindata.atmo-france.org/api/v2/data/indices/atmo`, account needed) gives CSV or GeoJSON
 * histories with the same fields: an operator drops such a file in MIRROR_DIR or passes --file.
 */
export const source: SourceDeclaration = {
  id: 'atmo',
  title: "Indice de la qualité de l'air (indice ATMO)",
  producer: 'Atmo France et les AASQA',
  licence: { id: 'odbl', title: 'Open Database License (ODbL) 1.0', url: 'https://opendatacommons.org/licenses/odbl/1-0/' },
  landingPage: 'https://www.data.gouv.fr/fr/datasets/indice-de-la-qualite-de-lair-quotidien-par-commune-indice-atmo/',
  format: 'geojson',
  schedule: '30 15 * * *', // the day's index and the next day's forecast are out around 14:00
  resources: [
    {
      name: 'indices',
      // Unfiltered, the layer answers every commune for every day it holds (a reuser saw 285 MB): the
      // request names the days wanted (yesterday, today and the forecast for tomorrow) with a CQL filter
      // on date_ech, as reusers of the same GeoServer do (code-ids 62472261642, 40763356466).
      page: 'https://www.data.gouv.fr/fr/datasets/indice-de-la-qualite-de-lair-quotidien-par-commune-indice-atmo/',
      evidence:
        'WFS data.atmo-france.org/geoserver/ind/ows, layer ind_atmo_2021, in code-id 54519670592, 57181391497, 55398916450 (the data.gouv.fr resource redirects to it); layer ind:ind_atmo in code-id 68802897666; CQL_FILTER=date_ech on it in code-id 62472261642',
      url: 'https://data.atmo-france.org/geoserver/ind/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=ind:ind_atmo_2021&outputFormat=application/json&CQL_FILTER=date_ech%20%3E%3D%20%27{today-1}%27',
      mirrorNames: ['ind_atmo_2021.geojson', 'indices_atmo.geojson', 'indices_atmo.json', 'indices_atmo.csv'],
    },
  ],
  // Regional files (one AASQA each): a file replaces only the days and communes it holds.
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'partial', table: 'atmo_indice' },
};

/**
 * The national scale since 2021 (1–6), with Atmo France's two states outside it:
 * 0 = index not available, 7 = event (fire, dust… the index is not computed).
 */
export const ATMO_SCALE = [
  'Indisponible',
  'Bon',
  'Moyen',
  'Dégradé',
  'Mauvais',
  'Très mauvais',
  'Extrêmement mauvais',
  'Événement',
] as const;

/** First day of the 1–6 index; earlier files use the old 1–10 index, which is not comparable. */
export const SCALE_START = '2021-01-01';
