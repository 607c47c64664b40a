import type { PackSection } from '../../src/packs/section';
import { explainMissingPopulations } from './transform';
import { PRODUCER_SIRET } from '../../src/packs/producers';

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
          description:
            "Personnes résidant ailleurs mais gardant un lien avec la commune (étudiants, etc.). Vide quand la ligne additionne plusieurs codes (commune fusionnée depuis, Paris, Lyon, Marseille) : l'INSEE précise que ce chiffre ne s'additionne pas d'une commune à l'autre",
        },
        {
          name: 'population_totale',
          type: 'integer',
          title: 'Population totale',
          description:
            'Population municipale plus population comptée à part ; vide, comme la précédente, quand la ligne additionne plusieurs codes',
        },
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
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.INSEE,
  // The producer's publication date of each millésime (catalogue.csv DATE_PUBL): INSEE's page of the
  // populations légales 2021 (insee.fr/fr/statistiques/7739582), dated 28 December 2023 as remembered,
  // NOT re-read in this session; what was read (insee.fr/fr/statistiques/7725600) says the figures were
  // authenticated by décret n° 2023-1256 of 26 December 2023 and are in force from 1 January 2024.
  publications: { '2021': '2023-12-28' },
  whyMissing: async (db, millesime) =>
    new Map((await explainMissingPopulations(db, millesime)).map((m) => [m.code, m.raison] as [string, string])),
  readme: ({ millesime, details }) => `## Populations légales (population.csv)

Les populations légales sont les chiffres officiels de population de la commune, publiés chaque année par l'INSEE (Institut national de la statistique et des études économiques). Le fichier donne la population municipale, la population comptée à part et la population totale pour le millésime ${millesime}${details.embedded ? ' (chiffres de population municipale repris du référentiel @etalab/decoupage-administratif, faute de fichier INSEE disponible lors de la construction)' : ''}.

Quand votre commune est issue d'une fusion intervenue après le millésime, les populations municipales des anciennes communes sont additionnées : la colonne « codes_sources » liste les codes additionnés. Il en va de même pour Paris, Lyon et Marseille, que l'INSEE publie par arrondissement. Dans ces cas, la population comptée à part et la population totale restent vides : l'INSEE avertit qu'elles ne s'additionnent pas (une personne comptée à part dans une commune peut être comptée dans la population municipale d'une autre), et son fichier ne donne pas leur chiffre pour la commune entière.

- Producteur : INSEE
- Citer : « Source : INSEE, populations légales, millésime ${millesime} »
`,
};
