import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE Base permanente des équipements (BPE), detailed file: one row per equipment with
 * DEPCOM (arrondissement for Paris, Lyon, Marseille), DCIRIS, TYPEQU, coordinates and their
 * quality. Recent vintages (BPE24, BPE25) carry LONGITUDE/LATITUDE (WGS 84) beside
 * LAMBERT_X/LAMBERT_Y and EPSG; older « ensemble xy » files only LAMBERT_X/LAMBERT_Y in the
 * local projection (Lambert 93, UTM 20N/22N/40S/38S overseas) and QUALITE_XY.
 * Column names: read in third-party code for BPE25 (verify on the BPE24 file).
 * The per-commune counts are a separate Melodi file (`DS_BPE_<year>_CSV_FR`, long format: GEO,
 * GEO_OBJECT, FACILITY_TYPE, BPE_MEASURE, TIME_PERIOD, OBS_VALUE; pipelines/equipements/counts.ts):
 * when loaded, the counts of its year are INSEE's, not the points counted.
 */
export const source: SourceDeclaration = {
  id: 'equipements',
  title: 'Base permanente des équipements (commerces, services, santé, enseignement)',
  producer: 'INSEE',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.insee.fr/fr/statistiques/8217525',
  format: 'csv (zip)',
  schedule: '0 6 1 7 *', // yearly, early summer
  millesime: '2024',
  resources: [
    {
      name: 'bpe',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8217525/BPE25.zip',
      // BPE25 → 2025, bpe24_ensemble_xy.csv → 2024.
      edition: { from: 'name', pattern: 'bpe(\\d{2})', template: '20$1' },
      page: 'https://www.insee.fr/fr/statistiques/8217525',
      evidence:
        'BPE25.zip at statistiques/fichier/8217525/ in code-id 70188398980, 68958817180, 68286206499, 57422428452 (member BPE25.csv per code-id 58103538738)',
      mirrorNames: ['BPE25.zip', 'BPE25.csv', 'BPE24.zip', 'BPE24.csv', 'bpe24_ensemble_xy_csv.zip', 'bpe24_ensemble_xy.csv'],
    },
    {
      name: 'bpe-communes',
      url: 'https://api.insee.fr/melodi/file/DS_BPE/DS_BPE_2025_CSV_FR',
      edition: { from: 'name', pattern: 'DS_BPE_(\\d{4})' },
      page: 'https://catalogue-donnees.insee.fr/fr/explorateur/DS_BPE',
      evidence: 'Melodi file DS_BPE_2025_CSV_FR in code-id 57982029564, 65823481906 (≈14 MB zip, *_data.csv + metadata)',
      mirrorNames: [
        'DS_BPE_2025_CSV_FR',
        'DS_BPE_2025_CSV_FR.zip',
        'DS_BPE_2025_data.csv',
        'DS_BPE_2024_CSV_FR.zip',
        'DS_BPE_2024_data.csv',
      ],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'equipement_compte', edition: 'millesime' },
};
