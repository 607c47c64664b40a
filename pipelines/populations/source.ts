import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE populations légales. Millésime N (census of N, in force on 1 January N+3) is published
 * late December N+2 in the geography of COG N+2; Paris, Lyon and Marseille come only as
 * arrondissements; Mayotte comes in its own file (census of 2017).
 */
export const source: SourceDeclaration = {
  id: 'populations',
  title: 'Populations légales des communes',
  producer: 'INSEE',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.insee.fr/fr/statistiques/7739582',
  format: 'csv',
  schedule: '0 5 2 1 *', // INSEE publishes at the end of December
  millesime: '2021',
  resources: [
    {
      name: 'ensemble',
      url: 'https://www.insee.fr/fr/statistiques/fichier/7739582/ensemble.zip',
      // The file at this address is millésime 2021; a copy of another millésime says it with --millesime.
      edition: { value: '2021' },
      page: 'https://www.insee.fr/fr/statistiques/7739582',
      evidence:
        'donnees_communes.csv of this zip in etalab/decoupage-administratif@360b6b29 sources/ (../shared/data/population); the URL itself was not re-checked this session',
      mirrorNames: ['ensemble.zip', 'donnees_communes.csv'],
    },
    {
      name: 'mayotte',
      url: 'https://www.insee.fr/fr/statistiques/fichier/7739582/donnees_communes_mayotte.csv',
      page: 'https://www.insee.fr/fr/statistiques/7739582',
      evidence: 'donnees_communes_mayotte.csv in etalab/decoupage-administratif@360b6b29 sources/',
      // Published with the main file: loaded alone, the millésime would lose its other communes.
      needs: ['ensemble'],
      mirrorNames: ['donnees_communes_mayotte.csv'],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'population_legale', edition: 'millesime' },
};

/** Census year of the Mayotte legal populations published alongside (verify at each millésime). */
export const MAYOTTE_RECENSEMENT = '2017';
