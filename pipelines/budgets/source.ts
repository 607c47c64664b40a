import type { SourceDeclaration } from '../../config/sources';

/**
 * Communes' accounts from two producers, both under the Licence Ouverte 2.0:
 * - OFGL (Observatoire des finances et de la gestion publique locales), "comptes des communes",
 *   long export of data.ofgl.fr (`;`, UTF-8 with a BOM, one row per SIREN × exercice × agrégat);
 * - DGFiP "comptes individuels des communes (fichier global)", wide (`;`, amounts in k€,
 *   `dep`/`icom` padded to 3 characters).
 * Mirror file names are the Opendatasoft export names `<dataset id>.csv` (verify per vintage).
 */
export const source: SourceDeclaration = {
  id: 'budgets',
  title: 'Comptes des communes',
  producer: 'OFGL et DGFiP',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://data.ofgl.fr/explore/dataset/ofgl-base-communes-consolidee/',
  format: 'csv',
  schedule: '0 4 1 * *', // monthly; both producers publish once a year
  resources: [
    {
      name: 'ofgl',
      url: 'https://data.ofgl.fr/api/explore/v2.1/catalog/datasets/ofgl-base-communes-consolidee/exports/csv?delimiter=%3B',
      page: 'https://data.ofgl.fr/explore/dataset/ofgl-base-communes-consolidee/',
      evidence:
        'Opendatasoft export of ofgl-base-communes-consolidee in code-id 58041261771 (docs/ARCHITECTURE.md, budgets); no genuine export seen',
      mirrorNames: ['ofgl-base-communes-consolidee.csv', 'ofgl-base-communes.csv'],
      optional: true,
    },
    {
      name: 'dgfip',
      url: 'https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/comptes-individuels-des-communes-fichier-global-2023-2024/exports/csv?delimiter=%3B',
      page: 'https://data.economie.gouv.fr/explore/dataset/comptes-individuels-des-communes-fichier-global-2023-2024/',
      evidence:
        'dataset id in code-id 55952546719, 55588121471 (docs/ARCHITECTURE.md, budgets); the 2023–2024 vintage was not seen as bytes',
      mirrorNames: ['comptes-individuels-des-communes-fichier-global-2023-2024.csv'],
      optional: true,
    },
  ],
  // One publication per file and series, compared on its last exercice.
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: [
    { kind: 'national', table: 'budget_ofgl', edition: `'ofgl-' || exercice`, editions: '^ofgl-' },
    { kind: 'national', table: 'budget_dgfip', edition: `'dgfip-' || exercice`, editions: '^dgfip-' },
  ],
};

/** The budget of a row of OFGL's consolidated base (no type_de_budget column: principal and annexes together). */
export const CONSOLIDATED = 'Consolidé (budget principal et budgets annexes)';

/** French labels of the DGFiP column stems most used (verify against the file's notice). */
export const DGFIP_LIBELLES: Record<string, string> = {
  prod: 'Total des produits de fonctionnement',
  charge: 'Total des charges de fonctionnement',
  impo1: 'Impôts locaux',
  dgf: 'Dotation globale de fonctionnement',
  perso: 'Charges de personnel',
  equip: "Dépenses d'équipement",
  recinv: "Total des ressources d'investissement",
  depinv: "Total des emplois d'investissement",
  dette: 'Encours de la dette au 31 décembre',
  annu: 'Annuité de la dette',
  caf: "Capacité d'autofinancement",
};
