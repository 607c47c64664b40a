import type { PackSection } from '../../src/packs/section';

export const pack: PackSection = {
  tables: [
    {
      name: 'budget_ofgl',
      title: 'Comptes de la commune (OFGL)',
      description:
        "Agrégats comptables de la commune par exercice et type de budget, publiés par l'Observatoire des finances et de la gestion publique locales.",
      primaryKey: ['exercice', 'type_budget', 'agregat'],
      fields: [
        { name: 'exercice', type: 'year', title: 'Exercice', description: 'Année budgétaire', required: true },
        {
          name: 'type_budget',
          type: 'string',
          title: 'Type de budget',
          description: "Budget principal, budgets annexes, ou les deux consolidés (base consolidée de l'OFGL)",
          required: true,
        },
        {
          name: 'agregat',
          type: 'string',
          title: 'Agrégat',
          description: 'Agrégat comptable (recettes totales, encours de dette, frais de personnel…)',
          required: true,
        },
        { name: 'montant_euros', type: 'number', title: 'Montant (€)', description: "Montant en euros ; vide quand il n'est pas connu" },
        { name: 'population', type: 'integer', title: 'Population', description: 'Population totale utilisée pour le calcul par habitant' },
        {
          name: 'euros_par_habitant',
          type: 'number',
          title: 'Euros par habitant',
          description: 'Montant divisé par la population, recalculé',
        },
        {
          name: 'sirens',
          type: 'string',
          title: 'SIREN additionnés',
          description: 'SIREN des budgets additionnés (communes fusionnées)',
          required: true,
        },
      ],
      query: `select code_commune, exercice, type_budget, agregat, montant as montant_euros, population, euros_par_habitant,
                     array_to_string(sirens, ' ') as sirens
              from budget_ofgl where code_commune = any($1::text[]) order by code_commune, exercice, type_budget, agregat`,
    },
    {
      name: 'budget_dgfip',
      title: 'Comptes individuels de la commune (DGFiP)',
      description: 'Principaux montants des comptes de la commune par année, publiés par la direction générale des finances publiques.',
      primaryKey: ['exercice', 'agregat'],
      fields: [
        { name: 'exercice', type: 'year', title: 'Exercice', description: 'Année des comptes', required: true },
        {
          name: 'agregat',
          type: 'string',
          title: 'Code du poste',
          description: 'Nom de la colonne dans le fichier de la DGFiP (prod, charge, dette…)',
          required: true,
        },
        { name: 'libelle', type: 'string', title: 'Libellé', description: 'Libellé du poste quand il est connu' },
        {
          name: 'montant_euros',
          type: 'number',
          title: 'Montant (€)',
          description: 'Montant en euros (le fichier donne des milliers d’euros)',
        },
        { name: 'population', type: 'integer', title: 'Population', description: 'Population de la DGFiP (pop1)' },
        {
          name: 'euros_par_habitant',
          type: 'number',
          title: 'Euros par habitant',
          description: 'Montant divisé par la population, recalculé',
        },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes additionnés',
          description: 'Codes des communes du fichier additionnés (communes fusionnées depuis)',
          required: true,
        },
      ],
      query: `select code_commune, exercice, agregat, libelle, montant as montant_euros, population, euros_par_habitant,
                     array_to_string(codes_sources, ' ') as codes_sources
              from budget_dgfip where code_commune = any($1::text[]) order by code_commune, exercice, agregat`,
    },
  ],
  frequency: 'Annuelle',
  readme: ({ millesime }) => `## Comptes de la commune (budget_ofgl.csv, budget_dgfip.csv)

Ces fichiers donnent les grands chiffres des comptes de la commune : recettes, dépenses, personnel, dette, en euros et en euros par habitant. Ils viennent de deux producteurs : l'OFGL (Observatoire des finances et de la gestion publique locales, data.ofgl.fr) et la DGFiP (direction générale des finances publiques, « comptes individuels des communes »). Dernier chargement : ${millesime}.

Quand votre commune est issue d'une fusion, les montants des anciennes communes sont additionnés et le montant par habitant est recalculé à partir des totaux. Un montant vide veut dire « non connu », jamais zéro.

- Producteurs : OFGL et DGFiP
- Citer : « Source : OFGL, comptes des communes » ou « Source : DGFiP, comptes individuels des communes », avec l'exercice
`,
};
