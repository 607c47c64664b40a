import type { PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import type { FileEdition } from '../../src/engine/snapshot';

export const pack: PackSection = {
  tables: [
    {
      name: 'etablissements_sante',
      title: 'Établissements de santé et médico-sociaux (FINESS)',
      description:
        'Établissements sanitaires, médico-sociaux et sociaux de la commune (hôpitaux, pharmacies, EHPAD, centres de santé…) tels que les recense le fichier FINESS, avec leur catégorie et leur position.',
      primaryKey: ['numero_finess'],
      rowNoun: { one: 'établissement', many: 'établissements' },
      fields: [
        {
          name: 'numero_finess',
          type: 'string',
          title: 'Numéro FINESS',
          description: "Numéro FINESS de l'établissement (géographique)",
          required: true,
        },
        {
          name: 'numero_finess_juridique',
          type: 'string',
          title: 'Numéro FINESS juridique',
          description: "Numéro FINESS de l'entité juridique qui le gère",
        },
        { name: 'nom', type: 'string', title: 'Nom', description: 'Raison sociale (longue quand elle est donnée)' },
        {
          name: 'categorie',
          type: 'string',
          title: 'Code catégorie',
          description: "Code de la catégorie d'établissement FINESS (620 = pharmacie d'officine…)",
        },
        { name: 'libelle_categorie', type: 'string', title: 'Catégorie', description: "Libellé de la catégorie d'établissement" },
        {
          name: 'libelle_categorie_agregee',
          type: 'string',
          title: 'Catégorie agrégée',
          description: 'Regroupement de catégories (établissements hospitaliers, pharmacies…)',
        },
        { name: 'adresse', type: 'string', title: 'Adresse', description: 'Numéro, voie, lieu-dit ou boîte postale' },
        { name: 'code_postal', type: 'string', title: 'Code postal', description: "Code postal de la ligne d'acheminement" },
        { name: 'telephone', type: 'string', title: 'Téléphone', description: "Téléphone de l'établissement" },
        { name: 'siret', type: 'string', title: 'SIRET', description: "SIRET de l'établissement, quand FINESS le donne" },
        { name: 'date_ouverture', type: 'date', title: "Date d'ouverture", description: "Date d'ouverture de l'établissement" },
        {
          name: 'latitude',
          type: 'number',
          title: 'Latitude',
          description: 'Latitude en degrés (WGS 84), reprojetée depuis la projection du territoire',
        },
        { name: 'longitude', type: 'number', title: 'Longitude', description: 'Longitude en degrés (WGS 84)' },
        {
          name: 'code_commune_fichier',
          type: 'string',
          title: 'Code commune dans le fichier',
          description: 'Code INSEE rebâti du département et de la commune du fichier FINESS (il diffère pour une commune fusionnée depuis)',
          required: true,
        },
      ],
      query: `select code_commune, nofinesset as numero_finess, nofinessej as numero_finess_juridique, nom, categorie, libelle_categorie,
                     libelle_categorie_agregee, adresse, code_postal, telephone, siret, to_char(date_ouverture, 'YYYY-MM-DD') as date_ouverture,
                     round(st_y(geom)::numeric, 6) as latitude, round(st_x(geom)::numeric, 6) as longitude, code_source as code_commune_fichier
                from sante_etablissement where code_commune = any($1::text[])
               order by code_commune, nofinesset`,
    },
    {
      name: 'professionnels_sante',
      title: 'Professionnels de santé par profession (RPPS)',
      description:
        "Nombre de professionnels de santé exerçant dans la commune, par profession (médecins, infirmiers, pharmaciens, masseurs-kinésithérapeutes…), d'après l'Annuaire Santé. Des nombres, jamais des noms.",
      primaryKey: ['code_profession'],
      rowNoun: { one: 'profession', many: 'professions', feminine: true, byKey: true },
      fields: [
        {
          name: 'code_profession',
          type: 'string',
          title: 'Code profession',
          description: 'Code de la profession (10 = médecin, 60 = infirmier…)',
          required: true,
        },
        { name: 'profession', type: 'string', title: 'Profession', description: 'Libellé de la profession' },
        {
          name: 'professionnels',
          type: 'integer',
          title: 'Professionnels',
          description: 'Nombre de personnes ayant au moins un lieu d’exercice dans la commune (chacune comptée une fois)',
          required: true,
        },
        {
          name: 'dont_liberaux',
          type: 'integer',
          title: 'Dont libéraux',
          description: 'Parmi elles, celles qui y exercent en libéral',
          required: true,
        },
      ],
      query: `select code_commune, code_profession, libelle_profession as profession, professionnels, liberaux as dont_liberaux
                from sante_profession where code_commune = any($1::text[]) order by code_commune, code_profession`,
    },
    {
      name: 'professionnels_sante_specialites',
      title: 'Professionnels de santé par spécialité (RPPS)',
      description:
        'Nombre de professionnels de santé exerçant dans la commune par profession et savoir-faire (spécialité, compétence : médecine générale, pédiatrie…), d’après l’Annuaire Santé.',
      primaryKey: ['code_profession', 'code_savoir_faire'],
      rowNoun: { one: 'spécialité', many: 'spécialités', feminine: true, byKey: true },
      fields: [
        { name: 'code_profession', type: 'string', title: 'Code profession', description: 'Code de la profession', required: true },
        { name: 'profession', type: 'string', title: 'Profession', description: 'Libellé de la profession' },
        {
          name: 'type_savoir_faire',
          type: 'string',
          title: 'Type de savoir-faire',
          description: 'S = spécialité ordinale, CEX = compétence exclusive, …',
        },
        {
          name: 'code_savoir_faire',
          type: 'string',
          title: 'Code savoir-faire',
          description: 'Code du savoir-faire (SM54 = médecine générale…)',
          required: true,
        },
        { name: 'savoir_faire', type: 'string', title: 'Savoir-faire', description: 'Libellé du savoir-faire' },
        {
          name: 'professionnels',
          type: 'integer',
          title: 'Professionnels',
          description: 'Nombre de personnes de cette profession et de ce savoir-faire exerçant dans la commune',
          required: true,
        },
        {
          name: 'dont_liberaux',
          type: 'integer',
          title: 'Dont libéraux',
          description: 'Parmi elles, celles qui y exercent en libéral',
          required: true,
        },
      ],
      query: `select code_commune, code_profession, libelle_profession as profession, type_savoir_faire, code_savoir_faire,
                     libelle_savoir_faire as savoir_faire, professionnels, liberaux as dont_liberaux
                from sante_savoir_faire where code_commune = any($1::text[]) order by code_commune, code_profession, code_savoir_faire`,
    },
  ],
  layers: [
    {
      name: 'etablissements_sante',
      title: 'Établissements de santé et médico-sociaux (carte)',
      description: 'Position de chaque établissement FINESS de la commune (points), avec son numéro, son nom et sa catégorie.',
      query: `select code_commune,
                     jsonb_build_object('numero_finess', nofinesset, 'nom', nom, 'categorie', categorie, 'libelle_categorie', libelle_categorie) as properties,
                     st_asgeojson(geom, 6) as geometry
                from sante_etablissement where code_commune = any($1::text[]) and geom is not null
               order by code_commune, nofinesset`,
    },
  ],
  sliceVersion: sliceVersionSql('sante'),
  theme: 'Santé',
  keywords: ['sante', 'finess', 'rpps', 'medecins', 'etablissements'],
  // The RPPS extract is daily, FINESS every few weeks (source.ts): several times a month.
  frequency: 'Mensuelle ou plusieurs fois par mois',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.SANTE,
  readme: ({ millesime, details }) => {
    const e = (details.editions ?? {}) as Record<string, FileEdition>;
    return `## Santé (etablissements_sante.csv, etablissements_sante.geojson, professionnels_sante.csv, professionnels_sante_specialites.csv)

Le fichier etablissements_sante.csv liste les établissements sanitaires, médico-sociaux et sociaux de la commune (hôpitaux, cliniques, centres de santé, pharmacies, laboratoires, EHPAD, services d'aide…) tels que les recense le Fichier national des établissements sanitaires et sociaux (FINESS), tenu par le ministère chargé de la santé${e.finess ? `, extraction du ${e.finess.edition}` : ''}. La couche etablissements_sante.geojson les place sur une carte : FINESS publie les coordonnées dans la projection de chaque territoire (Lambert 93 en métropole, UTM outre-mer), converties ici en latitude et longitude.

Les fichiers professionnels_sante.csv et professionnels_sante_specialites.csv donnent le nombre de professionnels de santé qui exercent dans la commune, par profession (médecins, infirmiers, pharmaciens, masseurs-kinésithérapeutes, chirurgiens-dentistes…) et par savoir-faire (par exemple les médecins dont la spécialité est la médecine générale, code SM54), d'après l'Annuaire Santé de l'Agence du numérique en santé (extraction en libre accès du RPPS${e.rpps ? ` du ${e.rpps.edition}` : ''}). Une personne qui exerce en plusieurs lieux de la commune n'est comptée qu'une fois ; une personne qui exerce dans plusieurs communes compte dans chacune. Ces nombres comptent des personnes inscrites, pas des équivalents temps plein : ils ne mesurent pas à eux seuls l'accès aux soins.

Pourquoi des nombres et non la liste des professionnels : l'Annuaire Santé publie les noms des professionnels pour permettre de les identifier et de les joindre. Un dossier de données communal n'a pas besoin de ces données personnelles ; il n'en reprend donc que des décomptes (principe de minimisation du règlement général sur la protection des données). Pour trouver un professionnel, consultez l'annuaire en ligne (annuaire.sante.fr).

- Producteurs : ministère chargé de la santé (FINESS) ; Agence du numérique en santé (Annuaire Santé, RPPS)
- Citer : « Sources : FINESS et Annuaire Santé (ANS), ${millesime} »
`;
  },
};
