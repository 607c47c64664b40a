import type { PackSection } from '../../src/packs/section';

export const pack: PackSection = {
  tables: [
    {
      name: 'adresses_par_qpv',
      title: "Quartiers prioritaires et nombre d'adresses",
      description:
        "Quartiers prioritaires de la politique de la ville (QPV) situés en tout ou partie dans la commune, avec le nombre d'adresses de la commune à l'intérieur.",
      primaryKey: ['code_qp'],
      fields: [
        {
          name: 'code_qp',
          type: 'string',
          title: 'Code du quartier',
          description: 'Code national du quartier prioritaire',
          required: true,
        },
        { name: 'nom_qp', type: 'string', title: 'Nom du quartier', description: 'Nom du quartier prioritaire' },
        {
          name: 'communes_qp',
          type: 'string',
          title: 'Communes du quartier',
          description: "Commune(s) du quartier, telles que publiées par l'ANCT",
        },
        {
          name: 'part_surface',
          type: 'number',
          title: 'Part de la surface dans la commune',
          description: 'Part de la surface du quartier située dans la commune (0 à 1)',
        },
        {
          name: 'nombre_adresses',
          type: 'integer',
          title: "Nombre d'adresses",
          description: 'Adresses de la commune situées dans le quartier',
          required: true,
        },
      ],
      query: `with a as (select code_commune, code_qp, count(*)::int as n from adresses
                        where code_commune = any($1::text[]) and code_qp is not null
                          and departement = any(array(select distinct geo_departement(c) from unnest($1::text[]) c))
                        group by code_commune, code_qp)
            select b.code_commune, q.code_qp, q.nom_qp, q.commune_qp as communes_qp, b.part_surface, coalesce(a.n, 0) as nombre_adresses
              from qpv_communes b join qpv q on q.code_qp = b.code_qp
              left join a on a.code_commune = b.code_commune and a.code_qp = b.code_qp
             where b.code_commune = any($1::text[]) order by b.code_commune, q.code_qp`,
    },
  ],
  layers: [
    {
      name: 'qpv',
      title: 'Quartiers prioritaires',
      description: 'Contours des quartiers prioritaires de la politique de la ville touchant la commune.',
      query: `select b.code_commune, jsonb_build_object('code_qp', q.code_qp, 'nom_qp', q.nom_qp, 'communes_qp', q.commune_qp) as properties,
                   ST_AsGeoJSON(q.geom_simple, 6) as geometry
              from qpv_communes b join qpv q on q.code_qp = b.code_qp
             where b.code_commune = any($1::text[]) order by b.code_commune, q.code_qp`,
    },
  ],
  frequency: 'Irrégulière',
  readme: ({ millesime }) => `## Quartiers prioritaires (qpv.geojson, adresses_par_qpv.csv)

Les quartiers prioritaires de la politique de la ville (QPV) sont fixés par décret ; la géographie ${millesime} est entrée en vigueur le 1er janvier 2024 en métropole. Le fichier qpv.geojson donne le contour des quartiers qui touchent la commune, et adresses_par_qpv.csv le nombre d'adresses de la commune situées dans chacun. Un quartier à cheval sur plusieurs communes figure dans le paquet de chacune.

- Producteur : ANCT (Agence nationale de la cohésion des territoires)
- Citer : « Source : ANCT, quartiers prioritaires de la politique de la ville ${millesime} »
`,
};
