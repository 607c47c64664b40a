import type { SourceDeclaration } from '../../config/sources';

/**
 * ARCEP "Mon réseau mobile": the quarterly list of mobile sites of the operators
 * (`data.arcep.fr/mobile/sites/{AAAA}_T{n}/{AAAA}_T{n}_sites_Metropole.csv`, and
 * `…_sites_Outremer.csv`; the same files are served under
 * `files.data.gouv.fr/arcep_donnees/mobile/sites/`). `;`-separated, `.` decimals, UTF-8. The
 * quarter of the file is its millésime, read from the file name. Update the quarter at each
 * publication (`dotation sources check` says when the declared one is gone).
 * Coverage by operator and technology (`data.arcep.fr/mobile/couvertures_theoriques/`) is not
 * declared yet: its file names were not seen.
 */
const QUARTER = '2026_T1';
const PAGE = 'https://data.arcep.fr/mobile/sites/';

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
  resources: [
    {
      name: 'metropole',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Metropole.csv`,
      edition: { from: 'name', pattern: '(\\d{4}_T[1-4])' },
      page: PAGE,
      evidence:
        '2026_T1/2026_T1_sites_Metropole.csv on data.arcep.fr in code-id 61617317889; files.data.gouv.fr/arcep_donnees/mobile/sites/2023_T3/… in code-id 7926136712',
      mirrorNames: [`${QUARTER}_sites_Metropole.csv`, `${QUARTER}_sites_Metropole.zip`, '2024_T3_sites_Metropole.csv'],
      // Both files of a quarter are published together: the quarter's sites are replaced as a whole.
      needs: ['outremer'],
    },
    {
      name: 'outremer',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Outremer.csv`,
      edition: { from: 'name', pattern: '(\\d{4}_T[1-4])' },
      page: PAGE,
      evidence: 'same folder as the Metropole file; the Outremer file name itself was not seen in public code',
      mirrorNames: [`${QUARTER}_sites_Outremer.csv`, `${QUARTER}_sites_Outremer.zip`, '2024_T3_sites_Outremer.csv'],
      needs: ['metropole'],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'arcep_sites', edition: 'millesime' },
};

/** `2024_T3_sites_Metropole.csv` → `2024_T3`; undefined when the name carries no quarter. */
export function quarterOf(fileName: string): string | undefined {
  const m = /(?:^|[^0-9])((?:20)\d{2})_T([1-4])(?:[^0-9]|$)/i.exec(fileName);
  return m ? `${m[1]}_T${m[2]}` : undefined;
}
