import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [],
  layers: [
    {
      name: 'contour',
      title: 'Contour de la commune',
      description:
        'Limite de la commune (IGN, ADMIN EXPRESS), simplifiée à une dizaine de mètres près, dans la géographie communale en vigueur.',
      query: `select code_commune, jsonb_build_object('code_commune', code_commune, 'nom', nom, 'cog_source', cog, 'codes_sources', codes_sources) as properties,
                   ST_AsGeoJSON(geom_simple, 6) as geometry
              from commune_contours where code_commune = any($1::text[]) order by code_commune`,
    },
  ],
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.IGN,
  readme: ({ millesime, details }) => `## Contour de la commune (contour.geojson)

Le fichier contour.geojson donne la limite de la commune, à ouvrir dans un logiciel de cartographie (QGIS) ou sur geojson.io. Il provient des limites administratives de l'IGN (Institut national de l'information géographique et forestière), produit ADMIN EXPRESS, dans le découpage communal de l'année ${millesime}. Quand des communes ont fusionné depuis, leurs limites ont été réunies pour donner celle de la commune nouvelle (la propriété « codes_sources » liste les anciennes communes). Le tracé est simplifié : il ne remplace pas le cadastre.${details.embedded ? '' : ''}

- Producteur : IGN
- Citer : « Source : IGN, ADMIN EXPRESS COG ${millesime} »
`,
};
