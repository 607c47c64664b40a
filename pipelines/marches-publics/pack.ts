import type { PackField, PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';

/**
 * The SCDL « Marchés publics » model, version 1.0 (OpenDataFrance, 2018, after the arrêté of
 * 14 April 2017): its 26 columns, in its order, one row per titulaire. schema.data.gouv.fr does not
 * list it (checked on datagouv/schema.data.gouv.fr@0bd884a, 2026-08-22: the SCDL schemas there are
 * budget, catalogue, délibérations, équipements, menus, plats, prénoms, subventions); it lists in
 * its place the regulatory format of the données essentielles, 139bercy/format-commande-publique
 * 2.0.2, a JSON schema. Values are those of that format (2022 procedures, objet up to 1000
 * characters), which some 2018 constraints do not allow: the LISEZMOI says so.
 */
const SCDL_MARCHES_VERSION = '1.0';
const S = (name: string, title: string, description: string, type: PackField['type'] = 'string'): PackField => ({
  name,
  type,
  title,
  description,
});
const SCDL_FIELDS: PackField[] = [
  S('MARCHE_ID', 'Identifiant du marché', 'Numéro du marché propre à l’acheteur (id des données essentielles)'),
  S('ACHETEURS_ID', 'SIRET de l’acheteur', 'SIRET de l’acheteur (le mandataire pour un groupement de commandes)'),
  S('ACHETEURS_NOM', 'Nom de l’acheteur', 'Nom de l’acheteur, quand le fichier le donne'),
  S('NATURE_MARCHE', 'Nature du marché', 'Marché, marché de partenariat, marché de défense ou de sécurité'),
  S('MARCHE_OBJET', 'Objet du marché', 'Objet du marché ou du lot'),
  S('CPV_CODE', 'Code CPV', 'Code du vocabulaire commun des marchés publics (CPV) principal'),
  S('PROCEDURE', 'Procédure', 'Procédure de passation'),
  S('LIEU_EXEC_CODE', 'Code du lieu d’exécution', 'Code du lieu d’exécution'),
  S('LIEU_EXEC_TYPE', 'Type de code du lieu', 'Code postal, code commune, code département…'),
  S('LIEU_EXEC_NOM', 'Nom du lieu d’exécution', 'Nom du lieu, quand le fichier le donne (format antérieur à 2024)'),
  S('DUREE_MOIS', 'Durée en mois', 'Durée initiale du marché, en mois', 'number'),
  S('NOTIFICATION_DATE', 'Date de notification', 'Date de notification du marché au titulaire', 'date'),
  S('PUBLICATION_DATE', 'Date de publication', 'Date de publication des données essentielles', 'date'),
  S('MONTANT', 'Montant HT', 'Montant forfaitaire ou estimé maximum, hors taxes, en euros', 'number'),
  S('PRIX_FORME', 'Forme du prix', 'Ferme, ferme et actualisable, révisable'),
  S('TITULAIRES_ID', 'Identifiant du titulaire', 'SIRET (ou autre identifiant) du titulaire'),
  S('TITULAIRES_ID_TYPE', 'Type d’identifiant', 'SIRET, TVA, TAHITI, RIDET, FRWF, IREP, UE, HORS-UE'),
  S('TITULAIRES_DENOMINATION', 'Dénomination du titulaire', 'Nom du titulaire, quand le fichier le donne (format antérieur à 2024)'),
  S('MODIF_OBJET', 'Objet de la modification', 'Objet de la dernière modification du marché'),
  S('MODIF_PUBLICATION_DATE', 'Publication de la modification', 'Date de publication de la dernière modification', 'date'),
  S('MODIF_DUREE_MOIS', 'Nouvelle durée', 'Durée en mois après la dernière modification', 'number'),
  S('MODIF_MARCHE_MONTANT', 'Nouveau montant HT', 'Montant après la dernière modification', 'number'),
  S('MODIF_TITULAIRES_ID', 'Nouveau titulaire', 'Identifiant du titulaire après la dernière modification'),
  S('MODIF_TITULAIRES_ID_TYPE', 'Type d’identifiant du nouveau titulaire', 'Type de cet identifiant'),
  S('MODIF_TITULAIRES_DENOMINATION', 'Dénomination du nouveau titulaire', 'Nom du nouveau titulaire, quand le fichier le donne'),
  S('MODIF_SIGNATURE_DATE', 'Signature de la modification', 'Date de signature (ou de notification) de la dernière modification', 'date'),
];

const D = (col: string) => `to_char(${col}, 'YYYY-MM-DD')`;
const LIEN = `case l.lien when 'commune' then 'achat de la commune' when 'intercommunalite' then 'achat de l''intercommunalité' else 'exécuté dans la commune' end`;

export const pack: PackSection = {
  tables: [
    {
      name: 'marches_publics',
      title: 'Marchés publics de la commune (modèle SCDL)',
      description:
        'Les marchés publics dont l’acheteur est la commune (son SIREN), colonnes du modèle SCDL « Marchés publics » 1.0, une ligne par titulaire.',
      primaryKey: ['ACHETEURS_ID', 'MARCHE_ID', 'TITULAIRES_ID'],
      rowNoun: { one: 'marché', many: 'marchés' },
      fields: SCDL_FIELDS,
      query: `select distinct on (m.acheteur_siret, m.id, coalesce(t.titulaire_id, ''))
                     m.id as "MARCHE_ID", m.acheteur_siret as "ACHETEURS_ID", m.acheteur_nom as "ACHETEURS_NOM", m.nature as "NATURE_MARCHE",
                     m.objet as "MARCHE_OBJET", m.code_cpv as "CPV_CODE", m.procedure as "PROCEDURE", m.lieu_code as "LIEU_EXEC_CODE",
                     m.lieu_type as "LIEU_EXEC_TYPE", m.lieu_nom as "LIEU_EXEC_NOM", m.duree_mois as "DUREE_MOIS",
                     ${D('m.date_notification')} as "NOTIFICATION_DATE", ${D('m.date_publication')} as "PUBLICATION_DATE", m.montant as "MONTANT",
                     m.forme_prix as "PRIX_FORME", t.titulaire_id as "TITULAIRES_ID", t.titulaire_type as "TITULAIRES_ID_TYPE",
                     t.titulaire_nom as "TITULAIRES_DENOMINATION", m.modif_objet as "MODIF_OBJET", ${D('m.modif_date_publication')} as "MODIF_PUBLICATION_DATE",
                     m.modif_duree_mois as "MODIF_DUREE_MOIS", m.modif_montant as "MODIF_MARCHE_MONTANT", m.modif_titulaire_id as "MODIF_TITULAIRES_ID",
                     m.modif_titulaire_type as "MODIF_TITULAIRES_ID_TYPE", m.modif_titulaire_nom as "MODIF_TITULAIRES_DENOMINATION",
                     ${D('m.modif_date_signature')} as "MODIF_SIGNATURE_DATE"
                from marche_public_commune l join marche_public m on m.uid = l.uid
                left join marche_public_titulaire t on t.uid = m.uid
               where l.code_commune = $code and l.lien = 'commune' and m.type = 'marché'
               order by m.acheteur_siret, m.id, coalesce(t.titulaire_id, ''), t.rang`,
      perCommune: true,
    },
    {
      name: 'commande_publique',
      title: 'Marchés et concessions liés à la commune',
      description:
        'Tous les contrats (marchés et concessions) achetés par la commune ou par son intercommunalité, ou exécutés dans la commune par un autre acheteur : une ligne par contrat.',
      primaryKey: ['identifiant'],
      rowNoun: { one: 'contrat', many: 'contrats' },
      fields: [
        {
          name: 'identifiant',
          type: 'string',
          title: 'Identifiant',
          description: 'SIRET de l’acheteur suivi du numéro du contrat (uid des données essentielles)',
          required: true,
        },
        {
          name: 'lien',
          type: 'string',
          title: 'Lien avec la commune',
          description: 'achat de la commune, achat de l’intercommunalité, ou exécuté dans la commune',
          required: true,
        },
        { name: 'type', type: 'string', title: 'Type de contrat', description: 'marché ou concession' },
        {
          name: 'acheteur_siret',
          type: 'string',
          title: 'SIRET de l’acheteur',
          description: 'SIRET de l’acheteur ou de l’autorité concédante',
        },
        { name: 'acheteur_nom', type: 'string', title: 'Acheteur', description: 'Nom de l’acheteur, quand le fichier le donne' },
        { name: 'objet', type: 'string', title: 'Objet', description: 'Objet du contrat' },
        { name: 'code_cpv', type: 'string', title: 'Code CPV', description: 'Code CPV principal' },
        { name: 'procedure', type: 'string', title: 'Procédure', description: 'Procédure de passation' },
        {
          name: 'montant',
          type: 'number',
          title: 'Montant HT',
          description: 'Montant forfaitaire ou estimé maximum hors taxes (valeur globale pour une concession), en euros',
        },
        {
          name: 'titulaires',
          type: 'string',
          title: 'Titulaires',
          description: 'Identifiants (et noms quand le fichier les donne) des titulaires, séparés par « | »',
        },
        {
          name: 'date_notification',
          type: 'date',
          title: 'Date de notification',
          description: 'Date de notification (de signature pour une concession)',
        },
        {
          name: 'lieu_execution',
          type: 'string',
          title: 'Lieu d’exécution',
          description: 'Code et type du lieu d’exécution tels que publiés',
        },
      ],
      query: `select m.uid as identifiant, ${LIEN} as lien, m.type, m.acheteur_siret, m.acheteur_nom, m.objet, m.code_cpv, m.procedure, m.montant,
                     m.titulaires,
                     ${D('m.date_notification')} as date_notification, nullif(concat_ws(' ', m.lieu_type, m.lieu_code), '') as lieu_execution
                from marche_public_commune l join marche_public m on m.uid = l.uid
               where l.code_commune = $code
               order by l.lien, m.date_notification desc nulls last, m.uid`,
      perCommune: true,
    },
    {
      name: 'commande_publique_annees',
      title: 'Marchés et concessions par année',
      description: 'Nombre de contrats et montant total par année de notification, selon leur lien avec la commune.',
      primaryKey: ['annee', 'lien', 'type'],
      rowNoun: { one: 'année', many: 'années', feminine: true, byKey: true },
      fields: [
        {
          name: 'annee',
          type: 'year',
          title: 'Année',
          description: 'Année de notification (de signature pour une concession)',
          required: true,
        },
        {
          name: 'lien',
          type: 'string',
          title: 'Lien avec la commune',
          description: 'achat de la commune, achat de l’intercommunalité, ou exécuté dans la commune',
          required: true,
        },
        { name: 'type', type: 'string', title: 'Type de contrat', description: 'marché ou concession', required: true },
        { name: 'nombre', type: 'integer', title: 'Nombre', description: 'Nombre de contrats', required: true },
        {
          name: 'montant_total',
          type: 'number',
          title: 'Montant total HT',
          description: 'Somme des montants publiés (maximums pour les accords-cadres), en euros',
        },
        {
          name: 'sans_montant',
          type: 'integer',
          title: 'Contrats sans montant',
          description: 'Contrats dont le montant n’est pas publié (« NC »), non comptés dans le total',
          required: true,
        },
      ],
      // Commune by commune (lateral): for a whole département at once, the planner expected ten
      // times the rows (a commune of a large intercommunalité lists thousands of contracts, most
      // communes a few dozen) and hashed the whole marche_public (≈ 0.9 s per département).
      query: `select c.code_commune, a.annee, a.lien, a.type, a.nombre, a.montant_total, a.sans_montant
                from unnest($1::text[]) as c(code_commune)
               cross join lateral (
                     select extract(year from m.date_notification)::int as annee, ${LIEN} as lien, l.lien as ordre, m.type, count(*)::int as nombre,
                            sum(m.montant) as montant_total, count(*) filter (where m.montant is null)::int as sans_montant
                       from marche_public_commune l join marche_public m on m.uid = l.uid
                      where l.code_commune = c.code_commune and m.date_notification is not null
                      group by 1, l.lien, m.type) a
               order by c.code_commune, a.annee desc, a.ordre, a.type`,
    },
  ],
  sliceVersion: sliceVersionSql('marches-publics'),
  theme: 'Commande publique',
  keywords: ['marches publics', 'commande publique', 'decp', 'concessions'],
  // decp-global.json is republished every day (source.ts).
  frequency: 'Quotidienne ou plusieurs fois par jour',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.ECONOMIE,
  readme: ({
    millesime,
    details,
  }) => `## Marchés publics et concessions (marches_publics.csv, commande_publique.csv, commande_publique_annees.csv)

Les données essentielles des contrats de la commande publique (marchés publics et contrats de concession) que les acheteurs publics doivent publier, consolidées au niveau national par le ministère de l'Économie et des Finances. Le dossier de la commune en retient trois sortes :

- les contrats **achetés par la commune** : l'acheteur porte le SIREN de la commune. Un centre communal d'action sociale, une caisse des écoles ou une régie ont leur propre SIREN et n'y figurent donc pas ; une commune nouvelle ne retrouve pas les contrats passés sous le SIREN de ses anciennes communes ;
- les contrats **achetés par l'intercommunalité** dont la commune est membre (SIREN de l'EPCI) : le fichier ne dit pas pour quelles communes l'intercommunalité achète, ils sont donc listés pour chacune de ses communes ;
- les autres contrats **exécutés dans la commune**, quand le lieu d'exécution est donné par le code de la commune, ou par un code postal qu'elle est seule à porter.

marches_publics.csv reprend les marchés achetés par la commune, une ligne par titulaire, avec les colonnes du modèle SCDL « Marchés publics » version ${SCDL_MARCHES_VERSION} (OpenDataFrance, 2018). Ce modèle n'est pas référencé sur schema.data.gouv.fr, qui référence à sa place le format réglementaire des données essentielles (« 139bercy/format-commande-publique », version 2.0, un schéma JSON, arrêtés du 22 décembre 2022) : les colonnes suivent le modèle SCDL, les valeurs suivent le format réglementaire actuel (libellés des procédures, objet jusqu'à 1 000 caractères), qui ne respecte pas toutes les contraintes de 2018. Depuis 2024, le fichier ne donne plus le nom des titulaires ni des lieux : seulement leurs identifiants (SIRET). commande_publique.csv liste les trois sortes de contrats, un par ligne ; commande_publique_annees.csv les compte par année de notification. Le montant est le montant hors taxes forfaitaire ou **maximum** (un accord-cadre est publié à son maximum) ; « NC » (non communiqué) devient une case vide. Seuls les contrats d'au moins 40 000 € HT doivent être publiés : une petite commune peut n'en avoir aucun dans l'année.

- Producteur : les acheteurs publics ; consolidation : ministère de l'Économie et des Finances
- Édition : consolidation du ${millesime}${/^content/.test(String(details.edition_lue ?? '')) ? " (date de la dernière publication du fichier, faute d'une date de mise à jour)" : ''}
- Citer : « Source : données essentielles de la commande publique, consolidation du ministère de l'Économie et des Finances, ${millesime} »
`,
};
