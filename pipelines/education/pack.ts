import type { PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import type { FileEdition } from '../../src/engine/snapshot';

function rentreeLabel(e: FileEdition | undefined): string | null {
  const y = e && /^rentree-(\d{4})$/.exec(e.edition)?.[1];
  return y ? `${y}-${Number(y) + 1}` : null;
}

export const pack: PackSection = {
  tables: [
    {
      name: 'etablissements_scolaires',
      title: 'Écoles, collèges et lycées',
      description:
        "Écoles, collèges, lycées et EREA situés dans la commune, publics ou privés, d'après l'annuaire de l'éducation du ministère de l'Éducation nationale.",
      primaryKey: ['uai'],
      rowNoun: { one: 'établissement scolaire', many: 'établissements scolaires' },
      fields: [
        {
          name: 'uai',
          type: 'string',
          title: 'UAI',
          description: "Identifiant de l'établissement (unité administrative immatriculée)",
          required: true,
        },
        { name: 'nom', type: 'string', title: 'Nom', description: "Nom de l'établissement" },
        {
          name: 'type_etablissement',
          type: 'string',
          title: "Type d'établissement",
          description: 'École, Collège, Lycée ou EREA (établissement régional d’enseignement adapté)',
          required: true,
        },
        { name: 'nature', type: 'string', title: 'Nature', description: 'Nature précise (école maternelle, lycée professionnel…)' },
        { name: 'statut', type: 'string', title: 'Statut', description: 'Public ou Privé' },
        {
          name: 'contrat_prive',
          type: 'string',
          title: 'Contrat (privé)',
          description: 'Pour un établissement privé : sous contrat d’association, hors contrat… (SANS OBJET pour le public)',
        },
        { name: 'adresse', type: 'string', title: 'Adresse', description: 'Adresse postale (voie, lieu-dit)' },
        { name: 'code_postal', type: 'string', title: 'Code postal', description: 'Code postal' },
        {
          name: 'education_prioritaire',
          type: 'string',
          title: 'Éducation prioritaire',
          description: 'Appartenance à un réseau d’éducation prioritaire (REP, REP+), vide sinon',
        },
        { name: 'etat', type: 'string', title: 'État', description: 'OUVERT, A FERMER (fermeture annoncée) ou A OUVRIR' },
        { name: 'date_ouverture', type: 'date', title: "Date d'ouverture", description: "Date d'ouverture de l'établissement" },
        { name: 'latitude', type: 'number', title: 'Latitude', description: 'Latitude en degrés (WGS 84)' },
        { name: 'longitude', type: 'number', title: 'Longitude', description: 'Longitude en degrés (WGS 84)' },
        { name: 'date_mise_a_jour', type: 'date', title: 'Mise à jour', description: 'Dernière mise à jour de la ligne dans l’annuaire' },
        {
          name: 'code_commune_fichier',
          type: 'string',
          title: 'Code commune dans le fichier',
          description:
            "Code INSEE de la commune tel que l'annuaire le donne (il diffère pour une commune fusionnée depuis, ou pour un arrondissement)",
          required: true,
        },
      ],
      query: `select code_commune, uai, nom, type_etablissement, nature, statut, contrat_prive, adresse, code_postal, education_prioritaire, etat,
                     to_char(date_ouverture, 'YYYY-MM-DD') as date_ouverture, round(latitude::numeric, 6) as latitude,
                     round(longitude::numeric, 6) as longitude, to_char(date_maj, 'YYYY-MM-DD') as date_mise_a_jour, code_source as code_commune_fichier
                from education_etablissement where code_commune = any($1::text[])
               order by code_commune, uai`,
    },
    {
      name: 'ips_etablissements_scolaires',
      title: 'Indice de position sociale des écoles, collèges et lycées',
      description:
        'Indice de position sociale (IPS) des élèves de chaque école, collège et lycée de la commune, par rentrée scolaire, publié par la DEPP.',
      primaryKey: ['rentree', 'niveau', 'uai'],
      rowNoun: { one: 'indice de position sociale', many: 'indices de position sociale', byKey: true },
      fields: [
        { name: 'rentree', type: 'string', title: 'Rentrée scolaire', description: 'Année scolaire (2022-2023)', required: true },
        {
          name: 'niveau',
          type: 'string',
          title: 'Niveau',
          description: 'école, collège ou lycée (fichier de la DEPP d’où vient la ligne)',
          required: true,
        },
        { name: 'uai', type: 'string', title: 'UAI', description: "Identifiant de l'établissement", required: true },
        { name: 'nom', type: 'string', title: 'Nom', description: "Nom de l'établissement dans le fichier de la DEPP" },
        { name: 'secteur', type: 'string', title: 'Secteur', description: 'public ou privé sous contrat' },
        { name: 'type_lycee', type: 'string', title: 'Type de lycée', description: 'LEGT, LP, LPO (lycées seulement)' },
        { name: 'effectifs', type: 'integer', title: 'Effectifs', description: "Nombre d'élèves pris en compte" },
        {
          name: 'ips',
          type: 'number',
          title: 'IPS',
          description:
            "Indice de position sociale de l'établissement (lycées : ensemble des voies générale, technologique et professionnelle) ; vide quand la DEPP ne le publie pas",
        },
        { name: 'ecart_type', type: 'number', title: "Écart-type de l'IPS", description: "Dispersion de l'IPS des élèves (collèges)" },
        { name: 'ips_voie_gt', type: 'number', title: 'IPS voie générale et technologique', description: 'Lycées seulement' },
        { name: 'ips_voie_pro', type: 'number', title: 'IPS voie professionnelle', description: 'Lycées seulement' },
      ],
      query: `select code_commune, rentree,
                     case niveau when 'ecole' then 'école' when 'college' then 'collège' else 'lycée' end as niveau,
                     uai, nom, secteur, type_lycee, effectifs::int as effectifs, ips, ecart_type, ips_voie_gt, ips_voie_pro
                from education_ips where code_commune = any($1::text[])
               order by code_commune, rentree, niveau, uai`,
    },
  ],
  layers: [
    {
      name: 'etablissements_scolaires',
      title: 'Écoles, collèges et lycées (carte)',
      description:
        'Position de chaque école, collège, lycée et EREA de la commune (points), avec son UAI, son nom, son type et son statut.',
      query: `select code_commune,
                     jsonb_build_object('uai', uai, 'nom', nom, 'type_etablissement', type_etablissement, 'nature', nature, 'statut', statut,
                                        'etat', etat) as properties,
                     st_asgeojson(geom, 6) as geometry
                from education_etablissement where code_commune = any($1::text[]) and geom is not null
               order by code_commune, uai`,
    },
  ],
  sliceVersion: sliceVersionSql('education'),
  theme: 'Éducation',
  keywords: ['education', 'ecoles', 'colleges', 'lycees', 'ips'],
  // The annuaire de l'éducation changes every day (the IPS once a school year).
  frequency: 'Quotidienne ou plusieurs fois par jour',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.EDUCATION,
  readme: ({ millesime, details }) => {
    const editions = (details.editions ?? {}) as Record<string, FileEdition>;
    const annuaire = editions.annuaire;
    const rentrees = ['ips-ecoles', 'ips-colleges', 'ips-lycees']
      .map((r) => [r.replace('ips-', ''), rentreeLabel(editions[r])] as const)
      .filter(([, l]) => l)
      .map(([n, l]) => `${n} : rentrée ${l}`);
    return `## Écoles, collèges et lycées (etablissements_scolaires.csv, etablissements_scolaires.geojson, ips_etablissements_scolaires.csv)

Le fichier etablissements_scolaires.csv liste les écoles, collèges, lycées et établissements régionaux d'enseignement adapté (EREA) de la commune, publics et privés, avec leur identifiant national (UAI), leur adresse et leur position, que la couche etablissements_scolaires.geojson place sur une carte. Il provient de l'annuaire de l'éducation publié par le ministère de l'Éducation nationale${annuaire ? `, extrait du ${annuaire.edition} (date de la mise à jour la plus récente d'une ligne de l'annuaire)` : ''}. Les services administratifs, centres d'information et d'orientation et établissements médico-sociaux de l'annuaire ne sont pas repris. À Paris, Lyon et Marseille, un établissement figure dans le dossier de son arrondissement et dans celui de la ville.

Le fichier ips_etablissements_scolaires.csv donne l'indice de position sociale (IPS) des élèves de chaque établissement, par rentrée scolaire${rentrees.length ? ` (${rentrees.join(' ; ')})` : ''}. Calculé par la direction de l'évaluation, de la prospective et de la performance (DEPP) à partir des professions des parents, il résume le milieu social des élèves : plus il est élevé, plus le milieu est favorisé (la moyenne nationale est proche de 100). C'est un indicateur statistique sur un ensemble d'élèves, pas une note de l'établissement. Une case vide signifie que la DEPP ne le publie pas (trop peu d'élèves).

- Producteur : ministère de l'Éducation nationale ; IPS : DEPP
- Citer : « Source : ministère de l'Éducation nationale, annuaire de l'éducation et indices de position sociale (DEPP), ${millesime} »
`;
  },
};
