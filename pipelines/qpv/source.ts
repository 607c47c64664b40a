import type { SourceDeclaration } from '../../config/sources';

/**
 * Quartiers prioritaires de la politique de la ville, generation 2024 (ANCT). The national
 * resource is a ZIP holding the same quartiers in several projections (WGS84 GeoJSON, Lambert-93,
 * UTM); the WGS84 entry is read. 2024 properties: code_qp, lib_qp, insee_reg, insee_dep,
 * insee_com, lib_com, siren_epci, one feature per QPV × commune. The 2015 layout (nom_qp,
 * commune_qp = commune names separated by commas) is still read.
 */
export const source: SourceDeclaration = {
  id: 'qpv',
  title: 'Quartiers prioritaires de la politique de la ville (2024)',
  producer: 'ANCT',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/',
  format: 'geojson',
  schedule: '0 4 1 2 *',
  millesime: '2024',
  resources: [
    {
      name: 'qpv',
      // The national resource: a ZIP with GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson beside Lambert-93 and UTM files.
      datagouv: { dataset: 'quartiers-prioritaires-de-la-politique-de-la-ville-qpv', resource: '942d4ee8-8142-4556-8ea1-335537ce1119' },
      url: 'https://www.data.gouv.fr/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119',
      edition: { value: '2024' },
      page: 'https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/',
      evidence:
        'dataset slug and resource id in code-id 55303624373, 69289637153, 26970206048, 68293170276 (2024–2026 code reading the ZIP entry)',
      mirrorNames: ['QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson', 'qpv-2024.geojson', 'qpv.geojson'],
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'national', table: 'qpv_communes', departement: 'departement' },
};

/** Share of a QPV's area a commune contour must hold to count as intersecting (simplified contours touch their neighbours). */
export const MIN_PART_SURFACE = 0.01;
