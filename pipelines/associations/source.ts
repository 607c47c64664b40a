import type { SourceDeclaration } from '../../config/sources';

const DATASET = 'repertoire-national-des-associations';
const PAGE = `https://www.data.gouv.fr/fr/datasets/${DATASET}/`;
/** `rna_waldec_20261001.zip`, `rna_import_20261001_dpt_35.csv` → 2026-10-01: the first of the month of the extract. */
const DATE_IN_NAME = (kind: string) => ({ from: 'url', pattern: `rna_${kind}_(\\d{4})(\\d{2})(\\d{2})`, template: '$1-$2-$3' }) as const;
const EVIDENCE =
  'dataset slug and the monthly archives https://media.interieur.gouv.fr/rna/rna_{waldec,import}_YYYYMMDD.zip (one CSV per département inside, rna_waldec_YYYYMMDD_dpt_XX.csv) in third-party code read by the research helper (code-id 15803156023, 36375078609, 69434091530: a 2026 reader of rna_waldec_20260901.zip, 408 MB, 1.46 GB once unzipped)';

/**
 * Répertoire national des associations (Ministère de l'Intérieur), the monthly extracts: « waldec »
 * (associations managed in the WALDEC application since 2009, 39 columns) and « import » (older
 * associations imported from the préfectures' registers, fewer columns). Each is a ZIP holding one
 * `;` CSV per département (Alsace-Moselle keeps its own registers: not in the RNA). Columns are
 * read by name; the siège's commune is `adrs_codeinsee`, re-coded from whatever year it was written in.
 */
export const source: SourceDeclaration = {
  id: 'associations',
  title: 'Répertoire national des associations',
  producer: "Ministère de l'Intérieur (Répertoire national des associations)",
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'csv',
  schedule: '0 5 8 * *', // monthly extracts dated the first of the month
  resources: [
    {
      name: 'waldec',
      datagouv: { dataset: DATASET, url: 'rna_waldec_\\d{8}\\.zip$' },
      edition: DATE_IN_NAME('waldec'),
      page: PAGE,
      evidence: EVIDENCE,
      // A single département file replaces that département only.
      mirrorNames: ['rna_waldec_*.zip', 'rna_waldec_*_dpt_*.csv'],
      optional: true,
    },
    {
      name: 'import',
      datagouv: { dataset: DATASET, url: 'rna_import_\\d{8}\\.zip$' },
      edition: DATE_IN_NAME('import'),
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['rna_import_*.zip', 'rna_import_*_dpt_*.csv'],
      optional: true,
    },
  ],
};
