import type { PackSection } from '../../src/packs/section';

export const pack: PackSection = {
  tables: [
    {
      name: 'qualite_air',
      title: "Indice de la qualité de l'air (indice ATMO)",
      description: 'Indice ATMO quotidien de la commune : 1 Bon, 2 Moyen, 3 Dégradé, 4 Mauvais, 5 Très mauvais, 6 Extrêmement mauvais.',
      primaryKey: ['date'],
      fields: [
        { name: 'date', type: 'date', title: 'Date', description: "Jour auquel l'indice s'applique", required: true },
        {
          name: 'indice',
          type: 'integer',
          title: 'Indice ATMO',
          description: '1 (Bon) à 6 (Extrêmement mauvais) ; 0 indisponible ; 7 événement exceptionnel (incendie, etc.)',
          required: true,
        },
        {
          name: 'qualificatif',
          type: 'string',
          title: 'Qualificatif',
          description: "Libellé de l'indice (Bon, Moyen, Dégradé, Mauvais, Très mauvais, Extrêmement mauvais)",
          required: true,
        },
        { name: 'couleur', type: 'string', title: 'Couleur', description: "Couleur officielle de l'indice (code hexadécimal)" },
        {
          name: 'echelle',
          type: 'string',
          title: 'Échelle',
          description:
            "« commune » : indice calculé pour la commune ; « epci » : indice publié pour l'intercommunalité et repris pour chacune de ses communes",
          required: true,
        },
        {
          name: 'code_zone',
          type: 'string',
          title: 'Code de la zone',
          description: "Code de la commune ou numéro SIREN de l'intercommunalité pour laquelle l'indice est publié",
          required: true,
        },
        { name: 'nom_zone', type: 'string', title: 'Nom de la zone', description: "Nom de la commune ou de l'intercommunalité" },
        {
          name: 'sous_indice_no2',
          type: 'integer',
          title: "Sous-indice dioxyde d'azote",
          description: "Sous-indice du dioxyde d'azote (NO2), même échelle",
        },
        { name: 'sous_indice_o3', type: 'integer', title: 'Sous-indice ozone', description: "Sous-indice de l'ozone (O3), même échelle" },
        {
          name: 'sous_indice_pm10',
          type: 'integer',
          title: 'Sous-indice particules PM10',
          description: 'Sous-indice des particules de moins de 10 micromètres, même échelle',
        },
        {
          name: 'sous_indice_pm25',
          type: 'integer',
          title: 'Sous-indice particules PM2,5',
          description: 'Sous-indice des particules de moins de 2,5 micromètres, même échelle',
        },
        {
          name: 'sous_indice_so2',
          type: 'integer',
          title: 'Sous-indice dioxyde de soufre',
          description: 'Sous-indice du dioxyde de soufre (SO2), même échelle',
        },
        {
          name: 'organisme',
          type: 'string',
          title: 'Organisme',
          description: "Association agréée de surveillance de la qualité de l'air (AASQA) qui a calculé l'indice",
        },
      ],
      query: `select code_commune, date_ech as date, code_qual as indice, lib_qual as qualificatif, coul_qual as couleur, echelle, code_zone, lib_zone as nom_zone,
                   code_no2 as sous_indice_no2, code_o3 as sous_indice_o3, code_pm10 as sous_indice_pm10, code_pm25 as sous_indice_pm25,
                   code_so2 as sous_indice_so2, source as organisme
              from atmo_indice where code_commune = any($1::text[]) order by code_commune, date_ech`,
    },
  ],
  theme: 'Environnement',
  keywords: ['qualite de l air', 'pollution', 'indice atmo'],
  frequency: 'Quotidienne ou plusieurs fois par jour',
  readme: ({ millesime, details }) => `## Qualité de l'air (qualite_air.csv)

L'indice ATMO résume chaque jour la qualité de l'air de la commune sur une échelle de 1 (Bon) à 6 (Extrêmement mauvais), à partir des concentrations de cinq polluants (dioxyde d'azote, ozone, particules PM10 et PM2,5, dioxyde de soufre) : l'indice du jour est le plus mauvais des cinq sous-indices. Cette échelle est en vigueur depuis le 1er janvier 2021. La valeur 0 signifie que l'indice n'est pas disponible, la valeur 7 qu'un événement exceptionnel (incendie, par exemple) empêche de le calculer.

Certaines associations publient l'indice pour une intercommunalité plutôt que pour chaque commune : la colonne « echelle » vaut alors « epci » et l'indice de l'intercommunalité est repris pour la commune. Quand un indice propre à la commune existe le même jour, c'est lui qui figure dans le fichier.

Données ${details.du && details.au ? `du ${details.du} au ${details.au}` : `de l'année ${millesime}`}, calculées par les associations agréées de surveillance de la qualité de l'air (AASQA) et diffusées par Atmo France.

- Producteur : Atmo France et les AASQA
- Citer : « Source : Atmo France et les AASQA, indice ATMO${details.au ? `, données au ${details.au}` : ''} »
`,
};
