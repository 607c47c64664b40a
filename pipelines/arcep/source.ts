import type { SourceDeclaration } from '../../config/sources';

/**
 * ARCEP "Mon réseau mobile", two resources of a quarter:
 *
 * 1. Coverage per commune (the main table, arcep_couverture): ARCEP's statistics of the
 *    operators' theoretical coverage maps, per commune × operator × technology, in % of the
 *    commune's surface and population by level (non couvert, couverture limitée, bonne, très
 *    bonne couverture). Layout as ARCEP's own Mon réseau mobile back-office documents it
 *    (`ARCEP-dev/Mon-Reseau-Mobile-v2:back_mrm/static/info.js@ce4169b`, "stat_commune"): file
 *    `2023T3_op_communes.csv`, `;`-separated, quoted text, `.` decimals, header
 *    `"techno";"mcc_mnc";"commune";"couv_nc";"couv_cl";"couv_bc";"couv_tbc";"pop_nc";"pop_cl";"pop_bc";"pop_tbc"`
 *    and the example line `"2G";20801;"01001";0.18;4.48;69.08;26.26;0.00;14.72;78.38;6.91`;
 *    techno `2G`, `2G3G` (voice 2G/3G), `3G`, `4G`, `5G` (back_mrm/stat/couverture.py). No public
 *    URL of that file was found (data.arcep.fr/mobile/couvertures_theoriques/ serves GeoPackages
 *    per operator): it is looked for in the data.gouv.fr dataset « Mon réseau mobile » by name,
 *    and else read from MIRROR_DIR or --file. The quarter is read from the name (`2023T3` or
 *    `2023_T3`).
 * 2. The quarterly list of mobile sites of the operators (table arcep_sites)
 * (`data.arcep.fr/mobile/sites/{AAAA}_T{n}/{AAAA}_T{n}_sites_Metropole.csv`, and
 * `…_sites_Outremer.csv`; the same files are served under
 * `files.data.gouv.fr/arcep_donnees/mobile/sites/`). `;`-separated, `.` decimals, UTF-8. The
 * quarter of the file is its millésime, read from the file name. Update the quarter at each
 * publication (`dotation sources check` says when the declared one is gone).
 */
const QUARTER = '2026_T1';
const PAGE = 'https://data.arcep.fr/mobile/sites/';
const DATASET = 'mon-reseau-mobile';
/** `2023T3_op_communes.csv` (ARCEP's name) or `2023_T3_op_communes.csv`. */
export const COVERAGE_FILE = /(?:^|[^0-9])20\d{2}_?T[1-4]_op_communes\.csv$/i;

export const source: SourceDeclaration = {
  id: 'arcep',
  title: 'Couverture mobile et sites de téléphonie mobile (Mon réseau mobile)',
  producer: 'Arcep',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  // ARCEP's own front end links it as its open data (ARCEP-dev/Mon-Reseau-Mobile-v2@ce4169b front_mrm/.env.sample, NEXT_PUBLIC_LINK_OPENDATA).
  landingPage: 'https://www.data.gouv.fr/fr/datasets/mon-reseau-mobile/',
  format: 'csv',
  schedule: '0 6 15 1,4,7,10 *', // quarterly publication
  resources: [
    {
      name: 'couverture',
      datagouv: { dataset: DATASET, url: '\\d{4}_?T[1-4]_op_communes\\.csv$' },
      edition: { from: 'name', pattern: '(\\d{4})_?T([1-4])_op_communes', template: '$1_T$2' },
      page: `https://www.data.gouv.fr/fr/datasets/${DATASET}/`,
      evidence:
        'file name 2023T3_op_communes.csv, header "techno";"mcc_mnc";"commune";"couv_nc";"couv_cl";"couv_bc";"couv_tbc";"pop_nc";"pop_cl";"pop_bc";"pop_tbc" ' +
        'and one example line in ARCEP-dev/Mon-Reseau-Mobile-v2@ce4169b back_mrm/static/info.js (code-id 55066429889); table stats_couv_communes ' +
        "in skeleton-db-mrm.sql; techno values 2G3G/4G in back_mrm/stat/couverture.py. Not seen among the dataset's resources: optional",
      mirrorNames: ['*_op_communes.csv'],
      // Loads alone: coverage and sites of a quarter are published independently.
      optional: true,
    },
    {
      name: 'metropole',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Metropole.csv`,
      edition: { from: 'name', pattern: '(\\d{4}_T[1-4])' },
      page: PAGE,
      evidence:
        'folder https://data.arcep.fr/mobile/sites/ in ARCEP-dev/Mon-Reseau-Mobile-v2@ce4169b README.md (« Antennes et déploiements »); ' +
        'header and one example line of the sites file in back_mrm/static/info.js (same commit); ' +
        'the full file URL 2026_T1/2026_T1_sites_Metropole.csv on data.arcep.fr only in third-party code (code-id 61617317889); ' +
        'files.data.gouv.fr/arcep_donnees/mobile/sites/2023_T3/… in code-id 7926136712',
      mirrorNames: [`${QUARTER}_sites_Metropole.csv`, `${QUARTER}_sites_Metropole.zip`, '2024_T3_sites_Metropole.csv'],
      // Both files of a quarter are published together: the quarter's sites are replaced as a whole.
      needs: ['outremer'],
    },
    {
      name: 'outremer',
      url: `https://data.arcep.fr/mobile/sites/${QUARTER}/${QUARTER}_sites_Outremer.csv`,
      edition: { from: 'name', pattern: '(\\d{4}_T[1-4])' },
      page: PAGE,
      evidence:
        'same folder as the Metropole file; the name form 2024_T1_sites_Outremer.csv (« fichiers CSV fournis par l’ARCEP ») in ' +
        'ARCEP-dev/Mon-Reseau-Mobile-v2@ce4169b back_mrm/static/info.js',
      mirrorNames: [`${QUARTER}_sites_Outremer.csv`, `${QUARTER}_sites_Outremer.zip`, '2024_T3_sites_Outremer.csv'],
      needs: ['metropole'],
      optional: true,
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  // Both tables by quarter (view arcep_lignes): a run may load coverage or sites alone.
  coverage: { kind: 'national', table: 'arcep_lignes', edition: 'millesime' },
};

/**
 * `2024_T3_sites_Metropole.csv` and `2023T3_op_communes.csv` → `2024_T3`, `2023_T3`; undefined
 * when the name carries no quarter.
 */
export function quarterOf(fileName: string): string | undefined {
  const m = /(?:^|[^0-9])((?:20)\d{2})_?T([1-4])(?:[^0-9]|$)/i.exec(fileName);
  return m ? `${m[1]}_T${m[2]}` : undefined;
}
