import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

/** The sentence for a measure whose INSEE file was not loaded (`details.absents`, see index.ts); empty otherwise. */
function absent(details: Record<string, unknown>): string {
  const absents = (details.absents ?? []) as string[];
  if (absents.includes('deces'))
    return "\nLes décès ne figurent pas dans cette édition : seul le fichier des naissances de l'INSEE a été chargé. La colonne « deces » est donc vide, sans que l'INSEE en soit la cause.\n";
  if (absents.includes('naissances'))
    return "\nLes naissances ne figurent pas dans cette édition : seul le fichier des décès de l'INSEE a été chargé. La colonne « naissances » est donc vide, sans que l'INSEE en soit la cause.\n";
  return '';
}

export const pack: PackSection = {
  tables: [
    {
      name: 'naissances_deces',
      title: 'Naissances et décès',
      description: "Nombre de naissances et de décès de personnes domiciliées dans la commune, par année, d'après l'état civil (INSEE).",
      primaryKey: ['annee'],
      fields: [
        { name: 'annee', type: 'year', title: 'Année', description: "Année de l'événement", required: true },
        {
          name: 'naissances',
          type: 'integer',
          title: 'Naissances',
          description: 'Naissances vivantes dont la mère est domiciliée dans la commune',
        },
        {
          name: 'deces',
          type: 'integer',
          title: 'Décès',
          description: 'Décès de personnes domiciliées dans la commune (quel que soit le lieu du décès)',
        },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes INSEE additionnés',
          description: 'Codes des communes du fichier additionnés (communes fusionnées depuis, arrondissements)',
          required: true,
        },
        {
          name: 'millesime',
          type: 'year',
          title: 'Édition',
          description: 'Dernière année couverte par le fichier de l’INSEE utilisé',
          required: true,
        },
      ],
      query: `select e.code_commune, e.annee, e.naissances, e.deces, array_to_string(e.codes_sources, ' ') as codes_sources, e.millesime
              from etat_civil e
             where e.code_commune = any($1::text[])
               and e.millesime = latest_edition('etat-civil')
             order by e.code_commune, e.annee`,
    },
  ],
  frequency: 'Annuelle',
  producerSiret: PRODUCER_SIRET.INSEE,
  readme: ({ millesime, details }) => `## Naissances et décès (naissances_deces.csv)

Le fichier donne, pour chaque année depuis 2008, le nombre de naissances et de décès de personnes domiciliées dans la commune, établis par l'INSEE (Institut national de la statistique et des études économiques) à partir des bulletins d'état civil transmis par les mairies. Une naissance est comptée dans la commune où habite la mère, un décès dans la commune où habitait la personne décédée, même si l'acte a été dressé ailleurs : les chiffres peuvent donc différer des registres de votre mairie. Édition ${millesime}.
${absent(details)}
Une case vide signifie que la valeur n'est pas publiée ; ce n'est pas zéro. Quand votre commune est issue d'une fusion, les chiffres des anciennes communes sont additionnés (colonne « codes_sources »).

- Producteur : INSEE
- Citer : « Source : INSEE, état civil, naissances et décès domiciliés 2008-${millesime} »
`,
};
