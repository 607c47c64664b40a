import type { PackSection } from '../../src/packs/section';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [
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
  keywords: ['telephonie mobile', 'antennes', 'arcep', '4g', '5g'],
  frequency: 'Trimestrielle',
  producerSiret: PRODUCER_SIRET.ARCEP,
  readme: ({ millesime }) => `## Sites de téléphonie mobile (sites_mobiles.csv)

Le fichier compte les sites de téléphonie mobile (pylônes, toits, châteaux d'eau équipés d'antennes) installés sur le territoire de la commune, pour chaque opérateur et chaque technologie (2G, 3G, 4G, 5G). La ligne « tous » compte chaque site une seule fois. Il s'agit du nombre de sites situés dans la commune, pas de la qualité de la couverture : une commune peut être bien couverte par des antennes voisines.

Les données viennent du service « Mon réseau mobile » de l'Arcep (Autorité de régulation des communications électroniques, des postes et de la distribution de la presse), trimestre ${millesime}. Quand votre commune est issue d'une fusion intervenue depuis, les sites des anciennes communes sont additionnés (colonne « codes_sources »).

- Producteur : Arcep
- Citer : « Source : Arcep, Mon réseau mobile, sites au trimestre ${millesime} »
`,
};
