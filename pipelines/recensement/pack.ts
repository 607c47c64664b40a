import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [
    {
      name: 'recensement',
      title: 'Recensement de la population (bases communales)',
      description:
        "Indicateurs du recensement de la population de l'INSEE pour la commune (population par âge, ménages, logements…), une ligne par indicateur.",
      primaryKey: ['millesime', 'indicateur', 'annee'],
      fields: [
        {
          name: 'millesime',
          type: 'year',
          title: 'Millésime',
          description: 'Année du recensement de référence du fichier',
          required: true,
        },
        {
          name: 'indicateur',
          type: 'string',
          title: 'Indicateur',
          description: "Code de la variable de l'INSEE (P22_POP = population en 2022, C22_… = exploitation complémentaire)",
          required: true,
        },
        {
          name: 'libelle',
          type: 'string',
          title: 'Libellé',
          description: "Intitulé de l'indicateur donné par l'INSEE dans son fichier de métadonnées",
        },
        {
          name: 'annee',
          type: 'year',
          title: 'Année',
          description: "Année à laquelle se rapporte la valeur (le fichier 2022 donne aussi des valeurs d'un recensement antérieur)",
          required: true,
        },
        {
          name: 'valeur',
          type: 'number',
          title: 'Valeur',
          description: "Valeur de l'indicateur ; vide quand l'INSEE ne la publie pas (secret statistique), ce n'est pas zéro",
        },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes INSEE additionnés',
          description: 'Codes des communes du fichier additionnés (communes fusionnées depuis, arrondissements)',
          required: true,
        },
      ],
      query: `select v.code_commune, v.millesime, v.variable as indicateur, l.libelle, v.annee, v.valeur,
                   array_to_string(c.codes_sources, ' ') as codes_sources
              from recensement_valeur v
              join recensement_commune c on c.millesime = v.millesime and c.code_commune = v.code_commune
              left join recensement_variable l on l.millesime = v.millesime and l.variable = v.variable
             where v.code_commune = any($1::text[])
             order by v.code_commune, v.millesime, v.variable, v.annee`,
    },
  ],
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.INSEE,
  readme: ({ millesime }) => `## Recensement de la population (recensement.csv)

Le fichier donne, pour la commune, les indicateurs des bases communales du recensement de la population publiées par l'INSEE (Institut national de la statistique et des études économiques) : population par tranche d'âge, ménages, logements (résidences principales, logements vacants…). Chaque ligne est un indicateur, avec son code INSEE et son libellé. Millésime ${millesime}.

Une valeur vide signifie que l'INSEE ne la publie pas (secret statistique ou valeur non calculable) : ce n'est pas zéro. Les valeurs issues de l'exploitation complémentaire (codes commençant par C) sont des estimations sur un échantillon et peuvent comporter des décimales. Quand votre commune est issue d'une fusion intervenue après le millésime, les valeurs des anciennes communes sont additionnées (colonne « codes_sources »).

- Producteur : INSEE
- Citer : « Source : INSEE, recensement de la population ${millesime}, bases communales »
`,
};
