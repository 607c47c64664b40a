import type { SourceDeclaration } from '../../config/sources';

const DATASET = 'repertoire-national-des-elus-1';
const PAGE = `https://www.data.gouv.fr/fr/datasets/${DATASET}/`;
/**
 * The extract's date: the timestamp folder of the resource's static URL
 * (`…/repertoire-national-des-elus-1/20260422-104211/elus-maires-mai.csv` → 2026-04-22), the day
 * the Ministry uploaded that file. A copy without its URL says nothing of itself: the pipeline then
 * takes `--millesime`, else the latest date the file holds (stated as such).
 */
const EXTRACT_DATE = { from: 'url', pattern: '/(\\d{4})(\\d{2})(\\d{2})-\\d{6}/', template: '$1-$2-$3' } as const;

/**
 * Répertoire national des élus (Ministère de l'Intérieur): the maires file and the conseillers
 * municipaux file of the dataset (twelve files, one per mandate). Personal data (names, sex, date
 * of birth, socio-professional category) that the Ministry publishes for the follow-up of elected
 * mandates; the pack says what a reuser may do with them. The RNE itself is the processing of
 * décret n° 2014-1479 du 9 décembre 2014.
 *
 * Two layouts of the same files were seen (itsmevictor/rne-history, a daily copy of the dataset):
 * until April 2026 `;`, unquoted, LF, dates DD/MM/YYYY, codes with their leading zeros; since
 * 6 May 2026 `;` with quoted strings, CRLF, ISO dates and numeric codes WITHOUT leading zeros
 * (département `1`, canton `101`). Columns are read by name in both.
 */
export const source: SourceDeclaration = {
  id: 'elus',
  title: 'Répertoire national des élus : maires et conseillers municipaux',
  producer: "Ministère de l'Intérieur",
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'csv',
  // The page says the files are refreshed quarterly; after elections they change every few days.
  schedule: '0 6 * * 1',
  resources: [
    {
      name: 'maires',
      datagouv: { dataset: DATASET, url: 'elus-maires-mai\\.csv$' },
      edition: EXTRACT_DATE,
      page: PAGE,
      evidence:
        'dataset slug, resource file names and the API answer read by itsmevictor/rne-history@3337a324 scripts/update_rne.py; genuine bytes in test/fixtures/elus/real (PROVENANCE.md)',
      mirrorNames: ['elus-maires-mai.csv'],
      optional: true,
    },
    {
      name: 'conseillers',
      datagouv: { dataset: DATASET, url: 'elus-conseillers-municipaux-cm\\.csv$' },
      edition: EXTRACT_DATE,
      page: PAGE,
      evidence:
        'file name in itsmevictor/rne-history@be995b1 (65 MB, not kept there); 16 columns read by name in third-party code (code-id 68295356013): the maires columns with « Libellé de la fonction » and « Code nationalité »',
      mirrorNames: ['elus-conseillers-municipaux-cm.csv'],
      optional: true,
    },
  ],
};
