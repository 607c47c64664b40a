import type { SourceDeclaration } from '../../config/sources';

/**
 * INSEE Base permanente des équipements (BPE), detailed file: one row per equipment with
 * DEPCOM (arrondissement for Paris, Lyon, Marseille), DCIRIS, TYPEQU, coordinates and their
 * quality. Recent vintages (BPE24, BPE25) carry LONGITUDE/LATITUDE (WGS 84) beside
 * LAMBERT_X/LAMBERT_Y and EPSG; older « ensemble xy » files only LAMBERT_X/LAMBERT_Y in the
 * local projection (Lambert 93, UTM 20N/22N/40S/38S overseas) and QUALITE_XY.
 * Column names: read in third-party code for BPE25 (verify on the BPE24 file); URL (verify).
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
      url: 'https://www.insee.fr/fr/statistiques/fichier/8217525/BPE24.zip',
      mirrorNames: ['BPE24.zip', 'BPE24.csv', 'bpe24_ensemble_xy_csv.zip', 'bpe24_ensemble_xy.csv'],
    },
  ],
};
