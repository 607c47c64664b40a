import type { SourceDeclaration } from '../../config/sources';

/**
 * IGN CONTOURS-IRIS (IRIS = INSEE's sub-communal statistical units), annual edition aligned
 * with the COG. Read as GeoJSON, GeoPackage (layer contours_iris), FlatGeobuf or Shapefile,
 * or straight from IGN's .7z archive (needs Debian p7zip-full; GeoPackage/FlatGeobuf/Shapefile
 * need gdal-bin's ogr2ogr). Paris, Lyon and Marseille IRIS carry the arrondissement code.
 */
export const source: SourceDeclaration = {
  id: 'iris',
  title: 'Contours des IRIS',
  producer: 'IGN × INSEE (CONTOURS-IRIS)',
  licence: {
    id: 'lov2',
    title: 'Licence Ouverte / Open Licence version 2.0',
    url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  },
  landingPage: 'https://geoservices.ign.fr/contoursiris',
  format: 'gpkg',
  schedule: '0 4 1 4 *',
  resources: [
    {
      name: 'contours',
      // Metropolitan France, Lambert-93 (reprojected on reading). The overseas archives' names were not seen.
      url: 'https://data.geopf.fr/telechargement/download/CONTOURS-IRIS/CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01/CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01.7z',
      edition: { from: 'name', pattern: '_(\\d{4})-01-01' },
      page: 'https://geoservices.ign.fr/contoursiris',
      evidence:
        'archive name CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01 in code-id 68410980174, 12569037841, 12380529738, 67216526743 (entry iris.gpkg, 167 MB); the former GPKG_WGS84G_FRA name was seen nowhere',
      mirrorNames: [
        'CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01.7z',
        'contours_iris.gpkg',
        'contours_iris.fgb',
        'contours-iris.geojson',
        'contours_iris.geojson',
      ],
    },
  ],
  /** What one publication covers: the publication guard refuses one that loses more than 5 % of it (src/engine/guard.ts). */
  coverage: { kind: 'departement', table: 'iris', departement: 'departement' },
};
