import type { SourceDeclaration } from '../../config/sources';

/**
 * ARCEP "Mon réseau mobile": the quarterly list of mobile sites of the operators
 * (`data.arcep.fr/mobile/sites/{AAAA}_T{n}/{AAAA}_T{n}_sites_Metropole.csv`, and
 * `…_sites_Outremer.csv`). `;`-separated, `.` decimals, UTF-8. The quarter of the file is its
 * millésime, read from the file name. Update `millesime` and the names at each quarter.
 */
const QUARTER = '2024_T3';

export const source: SourceDeclaration = {
  id: 'arcep',
  title: 'Sites de téléphonie mobile (Mon réseau mobile)',
  producer: 'Arcep',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.data.gouv.fr/fr/datasets/mon-reseau-mobile/',
  format: 'csv',
  schedule: '0 6 15 1,4,7,10 *', // quarterly publication
  millesime: QUARTER,
  resources: [
    {
      name: 'metropole',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Metropole.csv`,
      mirrorNames: [`${QUARTER}_sites_Metropole.csv`, `${QUARTER}_sites_Metropole.zip`],
    },
    {
      name: 'outremer',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Outremer.csv`,
      mirrorNames: [`${QUARTER}_sites_Outremer.csv`, `${QUARTER}_sites_Outremer.zip`],
      optional: true,
    },
  ],
};

/** `2024_T3_sites_Metropole.csv` → `2024_T3`; undefined when the name carries no quarter. */
export function quarterOf(fileName: string): string | undefined {
  const m = /(?:^|[^0-9])((?:20)\d{2})_T([1-4])(?:[^0-9]|$)/i.exec(fileName);
  return m ? `${m[1]}_T${m[2]}` : undefined;
}
