import type { SourceDeclaration } from '../../config/sources';

const DATASET = '689c42fa521ccf80ce954f83';
const PAGE = 'https://www.data.gouv.fr/fr/datasets/689c42fa521ccf80ce954f83/';

/**
 * Sitadel (SDES, ministère de la Transition écologique): the authorisations to build that create
 * housing (permis de construire and déclarations préalables), one line per authorisation, in the
 * monthly file `Liste-des-autorisations-durbanisme-creant-des-logements.YYYY-MM.csv` (≈ 830 MB):
 * `;`, every field quoted, UTF-8; line 1 gives the columns' long labels and line 2 their codes
 * (COMM, NUM_DAU, DATE_REELLE_AUTORISATION, NB_LGT_TOT_CREES…), the header read here. Paris,
 * Lyon and Marseille are given whole (75056…), never by arrondissement. The edition is the month
 * in the file's name. Natural persons who apply are not named by the file (only legal persons).
 */
export const source: SourceDeclaration = {
  id: 'permis-construire',
  title: 'Permis de construire et logements autorisés (Sitadel)',
  producer: 'SDES, ministère de la Transition écologique (Sitadel)',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'csv',
  schedule: '0 5 5 * *', // monthly files
  // One snapshot: each monthly file holds all of France since 2013.
  coverage: { kind: 'national', table: 'permis_logements_annee' },
  resources: [
    {
      name: 'logements',
      datagouv: { dataset: DATASET, resource: '65a9e264-7a20-46a9-9d98-66becb817bc3' },
      // The same file on the SDES's DiDo platform (datafile of the logements list); unverified as a download URL.
      url: 'https://data.statistiques.developpement-durable.gouv.fr/dido/api/v1/datafiles/8b35affb-55fc-4c1f-915b-7750f974446a/csv',
      edition: { from: 'name', pattern: '\\.(\\d{4}-\\d{2})\\.csv$' },
      page: PAGE,
      evidence:
        'file names Liste-des-autorisations-durbanisme-creant-des-logements.2025-10/2026-01/2026-02.csv, two header lines (long labels, then codes) ' +
        'and every field quoted in code-id 52048918974, 70770094449, 29681033663, 30128560232; data.gouv dataset 689c42fa521ccf80ce954f83 and resource ' +
        '65a9e264-… in code-id 62162062209, 45320815175; DiDo datafile 8b35affb-… in code-id 68546761507 (research notes of issue 14)',
      mirrorNames: ['Liste-des-autorisations-durbanisme-creant-des-logements.*.csv'],
    },
  ],
};

/** Years of authorisation listed permit by permit in the pack (the edition's year and the two before). */
export const LISTED_YEARS = 3;
