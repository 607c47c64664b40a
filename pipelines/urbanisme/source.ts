import type { SourceDeclaration } from '../../config/sources';

/**
 * Géoportail de l'Urbanisme (IGN, DGALN): which planning document applies to each commune.
 * Read from the Géoplateforme WFS layers that API Carto's `/gpu` module proxies
 * (IGNF/apicarto@c347b67 controllers/gpu, middlewares/gpuWfsClient.js):
 *  - `wfs_du:municipality`: one feature per commune, `insee`, `name`, `is_rnu` (règlement national
 *    d'urbanisme), `is_deleted`;
 *  - `wfs_du:document`: one feature per document uploaded, `grid_name` (the code INSEE of the
 *    commune, or the SIREN of the EPCI for a PLUi), `grid_title`, `name` (`<grid>_<du_type>_<YYYYMMDD>`,
 *    the date being the approval), `du_type` (PLU, PLUi, CC, PSMV, POS), `gpu_doc_id`, `gpu_status`,
 *    `gpu_timestamp`, `partition` (`DU_<grid>`);
 *  - `wfs_du:zone_urba`: the zoning polygons (`libelle`, `libelong`, `typezone`, `insee`, `partition`,
 *    `urlfic`…), national size several GB: read only from a copy in MIRROR_DIR (one file per
 *    document, or a region), never downloaded by the scheduler.
 * Each file is the WFS GetFeature answer in GeoJSON (`outputFormat=application/json`): a
 * FeatureCollection whose members after `features` (`totalFeatures`, `numberMatched`,
 * `numberReturned`, `timeStamp`, `crs`, `bbox`: seen on genuine answers relayed by API Carto,
 * test/fixtures/urbanisme/real/PROVENANCE.md) say whether the file is whole and when it was extracted. The WFS's page limit was
 * not verified: a file holding one page of a larger answer is refused, naming both counts.
 */
const WFS = 'https://data.geopf.fr/wfs/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&OUTPUTFORMAT=application/json';
const PAGE = 'https://www.geoportail-urbanisme.gouv.fr/';
const EVIDENCE =
  'typenames wfs_du:municipality, wfs_du:document, wfs_du:zone_urba and the WFS url https://data.geopf.fr/wfs/ows behind apicarto.ign.fr/api/gpu ' +
  '(IGNF/apicarto@c347b67 controllers/gpu/index.js, middlewares/gpuWfsClient.js); genuine answers of /gpu/document and /gpu/municipality ' +
  'of 2025-09-02 in test/fixtures/urbanisme/real (paul-carteron/happign@52cc1d2 test mocks); ' +
  'properties and name pattern 75056_PLU_20251219 in code-id 59731464611 (API audit, Aug. 2026); document pages by-id/<gpu_doc_id> in code-id 25642972613, 53805488582, 54194828346';

export const source: SourceDeclaration = {
  id: 'urbanisme',
  title: 'Documents d’urbanisme (Géoportail de l’Urbanisme)',
  producer: 'IGN et ministère chargé de l’urbanisme (Géoportail de l’Urbanisme)',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: PAGE,
  format: 'geojson',
  schedule: '0 3 * * 4', // documents are uploaded every day; weekly is enough for a pack
  // One snapshot of the communes and their documents (the zoning, mirror only, is not measured).
  coverage: { kind: 'national', table: 'urbanisme_commune' },
  resources: [
    {
      name: 'municipality',
      url: `${WFS}&TYPENAMES=wfs_du:municipality&PROPERTYNAME=insee,name,is_rnu,is_deleted&COUNT=50000`,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['wfs_du-municipality.json', 'wfs_du-municipality.geojson'],
      optional: true,
    },
    {
      name: 'document',
      url: `${WFS}&TYPENAMES=wfs_du:document&PROPERTYNAME=grid_name,grid_title,name,du_type,gpu_doc_id,gpu_status,gpu_timestamp,partition&COUNT=50000`,
      page: PAGE,
      evidence: EVIDENCE,
      mirrorNames: ['wfs_du-document.json', 'wfs_du-document.geojson'],
      optional: true,
    },
    {
      name: 'zonage',
      page: PAGE,
      evidence: `${EVIDENCE}; zone_urba of one EPCI without geometry = 16.5 MB / 4,487 features (code-id 59731464611)`,
      mirrorNames: ['wfs_du-zone_urba.json', 'wfs_du-zone_urba-*.json'],
      mirrorOnly: true,
      optional: true,
    },
  ],
};
