import type { SourceDeclaration } from '../../config/sources';

const DATASET = 'donnees-essentielles-de-la-commande-publique-fichiers-consolides';
const PAGE = `https://www.data.gouv.fr/fr/datasets/${DATASET}/`;

/**
 * Données essentielles de la commande publique (DECP), the national consolidation published by the
 * Ministère de l'Économie et des Finances: `decp-global.json` (every year, marchés and contrats de
 * concession, deduplicated), also cut by year (`decp-2025.json`) and month (`decp-2025-11.json`).
 * JSON, streamed: `{"marches": [...]}` or `{"marches": {"marche": [...], "contrat-concession": [...]}}`
 * (both envelopes are published), one record per contract in the format of the arrêtés of
 * 22 December 2022 (139bercy/format-commande-publique 2.0) or, for older records, of 2019.
 * No edition inside the file: the resource's last modification on data.gouv.fr, else the latest
 * publication date of its records (stated so).
 */
export const source: SourceDeclaration = {
  id: 'marches-publics',
  title: 'Marchés publics et concessions (données essentielles de la commande publique)',
  producer: "Ministère de l'Économie et des Finances (consolidation nationale des données essentielles de la commande publique)",
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'json',
  schedule: '0 4 * * 0', // republished daily upstream; weekly is enough for a commune's pack
  resources: [
    {
      name: 'decp',
      datagouv: { dataset: '5cd57bf68b4c4179299eb0e9', title: '^decp-global\\.json$' },
      edition: { from: 'last_modified' },
      page: PAGE,
      evidence:
        'dataset id and resource titles (decp-global.json, decp-YYYY.json, decp-YYYY-MM.json) in genuine data.gouv.fr resource objects of 2025 quoted in 139bercy/decp-rama tools_api/api_call_reorder.py@5c0d6e83; envelope and record layout in 139bercy/decp-arr2022 database/DbDecp.py@58b651b and format-commande-publique schema_decp_v2.0.3.json@79fed6c',
      // A yearly or monthly file replaces the contracts notified in that year or month only.
      mirrorNames: ['decp-global.json', 'decp-*.json'],
    },
  ],
};
