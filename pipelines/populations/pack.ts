import type { PackSection } from '../../src/packs/section';

export const pack: PackSection = {
  tables: [
    {
      name: 'population',
      title: 'Populations légales',
      description: "Populations légales de la commune publiées par l'INSEE, par millésime.",
      primaryKey: ['millesime'],
      rowNoun: { one: 'population légale', many: 'populations légales', feminine: true, byKey: true },
      fields: [
        { name: 'millesime', type: 'year', title: 'Millésime', description: 'Année du recensement de référence', required: true },
        {
          name: 'population_municipale',
          type: 'integer',
          title: 'Population municipale',
          description: 'Personnes ayant leur résidence habituelle dans la commune',
        },
        {
          name: 'population_comptee_a_part',
          type: 'integer',
          title: 'Population comptée à part',
          description: 'Personnes résidant ailleurs mais gardant un lien avec la commune (étudiants, etc.)',
        },
        { name: 'population_totale', type: 'integer', title: 'Population totale', description: 'Somme des deux précédentes' },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes INSEE additionnés',
          description: "Codes des communes du fichier de l'INSEE additionnés (communes fusionnées depuis, arrondissements)",
          required: true,
        },
        {
          name: 'annee_recensement',
          type: 'year',
          title: 'Année du recensement',
          description: 'Année du recensement dont la population est issue (Mayotte : recensement propre)',
        },
      ],
      query: `select code_commune, millesime, pmun as population_municipale, pcap as population_comptee_a_part, ptot as population_totale,
                     array_to_string(codes_sources, ' ') as codes_sources, annee_recensement
              from population_legale where code_commune = any($1::text[]) order by code_commune, millesime`,
    },
  ],
  readme: ({ millesime, details }) => `## Populations légales (population.csv)

Les populations légales sont les chiffres officiels de population de la commune, publiés chaque année par l'INSEE (Institut national de la statistique et des études économiques). Le fichier donne la population municipale, la population comptée à part et la population totale pour le millésime ${millesime}${details.embedded ? ' (chiffres de population municipale repris du référentiel @etalab/decoupage-administratif, faute de fichier INSEE disponible lors de la construction)' : ''}.

Quand votre commune est issue d'une fusion intervenue après le millésime, les populations des anciennes communes sont additionnées : la colonne « codes_sources » liste les codes additionnés.

- Producteur : INSEE
- Licence : Licence Ouverte / Open Licence version 2.0
- Citer : « Source : INSEE, populations légales, millésime ${millesime} »
`,
};
