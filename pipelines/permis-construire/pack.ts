import type { PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';

export const pack: PackSection = {
  tables: [
    {
      name: 'logements_autorises_commences',
      title: 'Logements autorisés et commencés par année (Sitadel)',
      description:
        'Nombre de logements dont la construction a été autorisée (permis de construire, déclarations préalables) et nombre de logements dont le chantier a commencé, par année, dans la commune.',
      primaryKey: ['annee'],
      rowNoun: { one: 'année', many: 'années', feminine: true, byKey: true },
      fields: [
        { name: 'annee', type: 'year', title: 'Année', description: "Année de l'autorisation, ou du début du chantier", required: true },
        {
          name: 'logements_autorises',
          type: 'integer',
          title: 'Logements autorisés',
          description: "Logements créés par les autorisations délivrées dans l'année (date réelle d'autorisation)",
          required: true,
        },
        {
          name: 'dont_individuels',
          type: 'integer',
          title: 'Dont individuels',
          description: 'Logements individuels (maisons)',
          required: true,
        },
        {
          name: 'dont_collectifs',
          type: 'integer',
          title: 'Dont collectifs',
          description: 'Logements en immeuble collectif',
          required: true,
        },
        {
          name: 'autorisations',
          type: 'integer',
          title: 'Autorisations',
          description: "Nombre d'autorisations créant des logements délivrées dans l'année",
          required: true,
        },
        {
          name: 'logements_commences',
          type: 'integer',
          title: 'Logements commencés',
          description: "Logements dont l'ouverture de chantier a été déclarée dans l'année (date réelle)",
          required: true,
        },
      ],
      query: `select code_commune, annee, logements_autorises, dont_individuels, dont_collectifs, autorisations, logements_commences
                from permis_logements_annee where code_commune = any($1::text[]) order by code_commune, annee`,
    },
    {
      name: 'permis_construire',
      title: 'Autorisations récentes créant des logements (Sitadel)',
      description:
        'Les permis de construire et déclarations préalables créant des logements délivrés dans la commune pendant les trois dernières années, un par ligne : numéro, adresse, parcelles, nombre de logements, dates.',
      primaryKey: ['numero'],
      rowNoun: { one: 'autorisation', many: 'autorisations', feminine: true },
      fields: [
        { name: 'numero', type: 'string', title: 'Numéro', description: "Numéro de l'autorisation (NUM_DAU)", required: true },
        { name: 'type_autorisation', type: 'string', title: 'Type', description: 'PC = permis de construire, DP = déclaration préalable…' },
        { name: 'etat', type: 'string', title: 'État', description: "Code d'état de l'autorisation tel que publié par le SDES (ETAT_DAU)" },
        { name: 'date_autorisation', type: 'date', title: "Date d'autorisation", description: "Date réelle de l'autorisation" },
        {
          name: 'date_ouverture_chantier',
          type: 'date',
          title: 'Ouverture du chantier',
          description: "Date réelle d'ouverture du chantier, si déclarée",
        },
        { name: 'date_achevement', type: 'date', title: 'Achèvement', description: "Date réelle d'achèvement des travaux, si déclarée" },
        { name: 'adresse', type: 'string', title: 'Adresse du terrain', description: 'Numéro, voie, lieu-dit du terrain' },
        { name: 'code_postal', type: 'string', title: 'Code postal', description: 'Code postal du terrain' },
        { name: 'parcelles', type: 'string', title: 'Parcelles', description: "Section et numéro cadastraux (jusqu'à trois)" },
        {
          name: 'nature_projet',
          type: 'string',
          title: 'Nature du projet',
          description: 'Code de la nature du projet (nouvelle construction, travaux sur existant)',
        },
        {
          name: 'destination',
          type: 'string',
          title: 'Destination principale',
          description: 'Code de la destination principale des logements',
        },
        { name: 'logements_crees', type: 'integer', title: 'Logements créés', description: 'Nombre total de logements créés' },
        { name: 'individuels', type: 'integer', title: 'Individuels', description: 'Dont logements individuels' },
        { name: 'collectifs', type: 'integer', title: 'Collectifs', description: 'Dont logements collectifs' },
        { name: 'surface_habitable_creee', type: 'number', title: 'Surface habitable créée', description: 'En m²' },
        {
          name: 'demandeur',
          type: 'string',
          title: 'Demandeur (personne morale)',
          description: 'Dénomination du demandeur quand c’est une personne morale ; le fichier ne nomme pas les particuliers',
        },
        { name: 'siren_demandeur', type: 'string', title: 'SIREN du demandeur', description: 'SIREN du demandeur (personne morale)' },
      ],
      query: `select code_commune, numero, type_autorisation, etat, to_char(date_autorisation, 'YYYY-MM-DD') as date_autorisation,
                     to_char(date_chantier, 'YYYY-MM-DD') as date_ouverture_chantier, to_char(date_achevement, 'YYYY-MM-DD') as date_achevement,
                     adresse, code_postal, parcelles, nature_projet, destination, logements as logements_crees, individuels, collectifs,
                     surface_habitable as surface_habitable_creee, demandeur, siren_demandeur
                from permis_construire where code_commune = any($1::text[]) order by code_commune, date_autorisation desc, numero`,
    },
  ],
  sliceVersion: sliceVersionSql('permis-construire'),
  theme: 'Urbanisme et logement',
  keywords: ['permis de construire', 'logement', 'sitadel', 'urbanisme'],
  // The SDES publishes the list of authorisations monthly (file names carry the month).
  frequency: 'Mensuelle ou plusieurs fois par mois',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.TRANSITION_ECOLOGIQUE,
  readme: ({ millesime, details }) => `## Permis de construire et logements (logements_autorises_commences.csv, permis_construire.csv)

Le fichier logements_autorises_commences.csv donne, pour chaque année, le nombre de logements dont la construction a été autorisée dans la commune (par un permis de construire ou une déclaration préalable), dont les logements individuels et collectifs, et le nombre de logements dont le chantier a commencé. Le fichier permis_construire.csv liste une à une les autorisations créant des logements délivrées depuis ${String(details.premiere_annee_listee ?? 'trois ans')} : numéro, adresse et parcelles du terrain, nombre de logements, dates d'autorisation, d'ouverture de chantier et d'achèvement.

Ces données viennent de la base Sitadel du service des données et études statistiques (SDES) du ministère de la Transition écologique, fichier mensuel des autorisations d'urbanisme créant des logements, édition ${millesime}. Elles sont établies à partir des formulaires de permis transmis par les services instructeurs : une autorisation peut être annulée ou modifiée après coup, et les déclarations d'ouverture de chantier ne sont pas toujours transmises, ce qui sous-estime les logements commencés des années récentes. Les années sont celles des dates réelles (pas des dates de prise en compte). Le nom du demandeur n'est publié que pour les personnes morales (sociétés, bailleurs, collectivités) ; les particuliers ne sont pas nommés. À Paris, Lyon et Marseille, le fichier ne donne que la commune entière : ces données ne figurent pas dans les dossiers des arrondissements.

- Producteur : SDES, ministère de la Transition écologique (Sitadel)
- Citer : « Source : SDES, Sitadel, liste des autorisations d'urbanisme créant des logements, ${millesime} »
`,
};
