import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [
    {
      name: 'adresses_par_iris',
      title: "Nombre d'adresses par IRIS",
      description: "Pour chaque IRIS de la commune, le nombre d'adresses de la Base Adresse Nationale situées à l'intérieur.",
      primaryKey: ['code_iris'],
      fields: [
        {
          name: 'code_iris',
          type: 'string',
          title: 'Code IRIS',
          description: "Code de l'IRIS (code de la commune ou de l'arrondissement + 4 chiffres)",
          required: true,
        },
        { name: 'nom_iris', type: 'string', title: "Nom de l'IRIS", description: "Nom de l'IRIS" },
        { name: 'type_iris', type: 'string', title: "Type d'IRIS", description: 'H habitat, A activité, D divers, Z commune non découpée' },
        {
          name: 'nombre_adresses',
          type: 'integer',
          title: "Nombre d'adresses",
          description: "Adresses de la Base Adresse Nationale situées dans l'IRIS",
          required: true,
        },
      ],
      query: `with a as (select code_commune, code_iris, count(*)::int as n from adresses
                        where code_commune = any($1::text[]) and code_iris is not null
                          and departement = any(array(select distinct geo_departement(c) from unnest($1::text[]) c))
                        group by code_commune, code_iris)
            select i.code_commune, i.code_iris, i.nom_iris, i.type_iris, coalesce(a.n, 0) as nombre_adresses
              from iris i left join a on a.code_commune = i.code_commune and a.code_iris = i.code_iris
             where i.code_commune = any($1::text[]) order by i.code_commune, i.code_iris`,
    },
  ],
  layers: [
    {
      name: 'iris',
      title: 'IRIS de la commune',
      description: "Contours des IRIS, les petits quartiers statistiques de l'INSEE.",
      query: `select code_commune, jsonb_build_object('code_iris', code_iris, 'nom_iris', nom_iris, 'type_iris', type_iris, 'code_insee', code_insee) as properties,
                   ST_AsGeoJSON(geom_simple, 6) as geometry
              from iris where code_commune = any($1::text[]) order by code_commune, code_iris`,
    },
  ],
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.IGN,
  readme: ({ millesime }) => `## IRIS (iris.geojson, adresses_par_iris.csv)

Les IRIS sont les petits quartiers statistiques de l'INSEE (environ 2 000 habitants chacun) ; une commune peu peuplée forme un seul IRIS. Le fichier iris.geojson donne leurs contours (édition ${millesime} de l'IGN) et adresses_par_iris.csv compte les adresses de la Base Adresse Nationale dans chacun : de quoi relier les statistiques de l'INSEE publiées par IRIS aux rues de la commune.

- Producteur : IGN et INSEE (CONTOURS-IRIS)
- Citer : « Source : IGN, INSEE, CONTOURS-IRIS ${millesime} »
`,
};
