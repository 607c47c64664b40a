import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE census, bases communales « base-cc-* » (wide, one row per CODGEO, variables prefixed
 * by the census year: P22_POP, C22_MENPSEUL, P22_LOGVAC) and, optionally, the long Melodi
 * `DS_*` files (GEO, GEO_OBJECT, TIME_PERIOD, OBS_VALUE + dimensions). Millésime N is
 * published in the geography of COG N+2. The zip holds an upper-case `.CSV` and its
 * `meta_*.CSV` (variable labels); files are `;`-separated, Latin-1 for the recent vintages
 * (read with encoding sniffing), empty cell = secret / not computable (NULL, never 0).
 */
export const source: SourceDeclaration = {
  id: 'recensement',
  title: 'Recensement de la population : bases communales (population, logement)',
  producer: 'INSEE',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.insee.fr/fr/statistiques/8581696',
  format: 'csv (zip)',
  schedule: '0 6 5 7 *', // bases communales: published at the end of June
  millesime: '2022',
  resources: [
    {
      name: 'evol-struct-pop',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8581696/base-cc-evol-struct-pop-2022_csv.zip',
      edition: { from: 'name', pattern: '-(\\d{4})(?:_csv)?\\.' },
      page: 'https://www.insee.fr/fr/statistiques/8581696',
      evidence: 'base-cc-evol-struct-pop-2022_csv.zip at statistiques/fichier/8581696/ in code-id 55850914111',
      // A millésime is published as a whole (every table of the census): its files load together.
      needs: ['logement', 'ds-population'],
      mirrorNames: ['base-cc-evol-struct-pop-2022_csv.zip', 'base-cc-evol-struct-pop-2022.CSV'],
    },
    {
      name: 'logement',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8581474/base-cc-logement-2022_csv.zip',
      edition: { from: 'name', pattern: '-(\\d{4})(?:_csv)?\\.' },
      page: 'https://www.insee.fr/fr/statistiques/8581474',
      evidence: 'not seen in public code this session (same naming as the population base)',
      // Published with the population base: one millésime for both.
      needs: ['evol-struct-pop', 'ds-population'],
      mirrorNames: ['base-cc-logement-2022_csv.zip', 'base-cc-logement-2022.CSV'],
      optional: true,
    },
    {
      // Melodi file of census 2023 (published 30 June 2026), one edition newer than the bases communales.
      name: 'ds-population',
      url: 'https://api.insee.fr/melodi/file/DS_RP_POPULATION_PRINC/DS_RP_POPULATION_PRINC_2023_CSV_FR',
      edition: { from: 'name', pattern: '_(\\d{4})_(?:CSV_FR|data)' },
      page: 'https://catalogue-donnees.insee.fr/fr/explorateur/DS_RP_POPULATION_PRINC',
      evidence: 'DS_RP_POPULATION_PRINC_2023_CSV_FR in code-id 58047510412, 58241285701, 59718228308 (edition 2023, published 2026-06-30)',
      mirrorNames: [
        'DS_RP_POPULATION_PRINC_2023_CSV_FR',
        'DS_RP_POPULATION_PRINC_2023_CSV_FR.zip',
        'DS_RP_POPULATION_PRINC_2023_data.csv',
        'DS_RP_POPULATION_PRINC_2022_CSV_FR.zip',
        'DS_RP_POPULATION_PRINC_2022_data.csv',
      ],
      needs: ['evol-struct-pop', 'logement'],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'recensement_commune', edition: 'millesime' },
};
