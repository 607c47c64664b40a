import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [
    {
      name: 'couverture_mobile',
      title: 'Couverture mobile théorique',
      description:
        "Part de la population et de la surface de la commune couvertes par chaque opérateur, par technologie et par niveau de couverture, d'après les cartes de couverture théorique publiées par l'Arcep.",
      primaryKey: ['trimestre', 'code_commune_arcep', 'code_operateur', 'technologie'],
      fields: [
        {
          name: 'trimestre',
          type: 'string',
          title: 'Trimestre',
          description: 'Trimestre des cartes de couverture (par exemple 2024_T3 = 3e trimestre 2024)',
          required: true,
        },
        {
          name: 'code_commune_arcep',
          type: 'string',
          title: 'Code INSEE dans le fichier',
          description:
            "Code de la commune dans le fichier de l'Arcep : celui de votre commune, ou d'une ancienne commune fusionnée depuis (ses parts ne sont pas additionnées)",
          required: true,
        },
        {
          name: 'code_operateur',
          type: 'string',
          title: 'Code opérateur',
          description: "Code réseau de l'opérateur (20801 Orange, 20810 SFR, 20815 Free Mobile, 20820 Bouygues Telecom)",
          required: true,
        },
        { name: 'operateur', type: 'string', title: 'Opérateur', description: "Nom de l'opérateur (vide s'il n'est pas connu)" },
        {
          name: 'technologie',
          type: 'string',
          title: 'Technologie',
          description: '2G, 3G, 4G ou 5G ; « 2G/3G » : appels et SMS en 2G ou en 3G',
          required: true,
        },
        {
          name: 'part_population_non_couverte',
          type: 'number',
          title: 'Non couvert (population, %)',
          description: 'Part de la population de la commune non couverte, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_population_couverture_limitee',
          type: 'number',
          title: 'Couverture limitée (population, %)',
          description:
            'Part de la population de la commune en couverture limitée, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_population_bonne_couverture',
          type: 'number',
          title: 'Bonne couverture (population, %)',
          description: 'Part de la population de la commune en bonne couverture, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_population_tres_bonne_couverture',
          type: 'number',
          title: 'Très bonne couverture (population, %)',
          description:
            'Part de la population de la commune en très bonne couverture, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_surface_non_couverte',
          type: 'number',
          title: 'Non couvert (surface, %)',
          description: 'Part de la surface de la commune non couverte, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_surface_couverture_limitee',
          type: 'number',
          title: 'Couverture limitée (surface, %)',
          description: 'Part de la surface de la commune en couverture limitée, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_surface_bonne_couverture',
          type: 'number',
          title: 'Bonne couverture (surface, %)',
          description: 'Part de la surface de la commune en bonne couverture, en % (vide : niveau non distingué pour cette technologie)',
        },
        {
          name: 'part_surface_tres_bonne_couverture',
          type: 'number',
          title: 'Très bonne couverture (surface, %)',
          description:
            'Part de la surface de la commune en très bonne couverture, en % (vide : niveau non distingué pour cette technologie)',
        },
      ],
      query: `select code_commune, millesime as trimestre, code_source as code_commune_arcep, code_op as code_operateur, operateur, technologie,
                     population_nc as part_population_non_couverte, population_cl as part_population_couverture_limitee,
                     population_bc as part_population_bonne_couverture, population_tbc as part_population_tres_bonne_couverture,
                     surface_nc as part_surface_non_couverte, surface_cl as part_surface_couverture_limitee,
                     surface_bc as part_surface_bonne_couverture, surface_tbc as part_surface_tres_bonne_couverture
              from arcep_couverture where code_commune = any($1::text[])
             order by code_commune, millesime, code_source, code_op, technologie`,
    },
    {
      name: 'sites_mobiles',
      title: 'Sites de téléphonie mobile',
      description:
        "Nombre de sites (antennes) de téléphonie mobile situés dans la commune, par opérateur et par technologie, d'après l'Arcep.",
      primaryKey: ['trimestre', 'code_operateur', 'technologie'],
      fields: [
        {
          name: 'trimestre',
          type: 'string',
          title: 'Trimestre',
          description: "Trimestre de publication par l'Arcep (par exemple 2024_T3 = 3e trimestre 2024)",
          required: true,
        },
        {
          name: 'code_operateur',
          type: 'string',
          title: 'Code opérateur',
          description: "Code réseau de l'opérateur (20801 Orange, 20810 SFR, 20815 Free Mobile, 20820 Bouygues Telecom)",
          required: true,
        },
        { name: 'operateur', type: 'string', title: 'Opérateur', description: "Nom de l'opérateur", required: true },
        {
          name: 'technologie',
          type: 'string',
          title: 'Technologie',
          description: '2G, 3G, 4G ou 5G ; « tous » compte chaque site une seule fois, quelle que soit la technologie',
          required: true,
        },
        {
          name: 'nombre_sites',
          type: 'integer',
          title: 'Nombre de sites',
          description: "Sites de l'opérateur dans la commune offrant cette technologie",
          required: true,
        },
        {
          name: 'codes_sources',
          type: 'string',
          title: 'Codes INSEE additionnés',
          description: "Codes des communes du fichier de l'Arcep additionnés (communes fusionnées depuis, arrondissements)",
          required: true,
        },
      ],
      query: `select code_commune, millesime as trimestre, code_op as code_operateur, operateur, technologie, sites as nombre_sites,
                     array_to_string(codes_sources, ' ') as codes_sources
              from arcep_sites where code_commune = any($1::text[])
             order by code_commune, millesime, code_op, technologie`,
    },
  ],
  theme: 'Télécommunications',
  keywords: ['telephonie mobile', 'couverture mobile', 'antennes', 'arcep', '4g', '5g'],
  frequency: 'Trimestrielle',
  producerSiret: PRODUCER_SIRET.ARCEP,
  readme: ({ millesime }) => `## Couverture mobile théorique (couverture_mobile.csv)

Pour chaque opérateur et chaque technologie (2G, 3G, 4G, 5G ; « 2G/3G » pour les appels et SMS), le fichier donne la part de la population et la part de la surface de la commune selon le niveau de couverture : non couverte, couverture limitée, bonne couverture, très bonne couverture. Une colonne vide signifie que l'Arcep ne distingue pas ce niveau pour cette technologie. Ces parts viennent des cartes de couverture *théorique* que les opérateurs simulent et que l'Arcep vérifie par des mesures : elles décrivent la couverture à l'extérieur des bâtiments, pas le ressenti en tout lieu. Quand votre commune est issue d'une fusion, chaque ancienne commune garde sa ligne (colonne « code_commune_arcep ») : des parts ne s'additionnent pas.

## Sites de téléphonie mobile (sites_mobiles.csv)

Le fichier compte les sites de téléphonie mobile (pylônes, toits, châteaux d'eau équipés d'antennes) installés sur le territoire de la commune, pour chaque opérateur et chaque technologie (2G, 3G, 4G, 5G). La ligne « tous » compte chaque site une seule fois. Il s'agit du nombre de sites situés dans la commune, pas de la qualité de la couverture : une commune peut être bien couverte par des antennes voisines. Quand votre commune est issue d'une fusion intervenue depuis, les sites des anciennes communes sont additionnés (colonne « codes_sources »).

Les deux fichiers viennent du service « Mon réseau mobile » de l'Arcep (Autorité de régulation des communications électroniques, des postes et de la distribution de la presse), trimestre ${millesime} pour la dernière publication ; la colonne « trimestre » dit de quel trimestre vient chaque ligne.

- Producteur : Arcep
- Citer : « Source : Arcep, Mon réseau mobile, couverture théorique et sites au trimestre ${millesime} »
`,
};
