import type { PackSection } from '../../src/packs/section';
import { sliceVersionSql } from '../../src/packs/slices';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import type { FileEdition } from '../../src/engine/snapshot';

/** The family of a code of the nomenclature (`024026` → `024000`); `000000` for none. */
export const THEME_OF = (col: string) =>
  `case when ${col} ~ '^[0-9]{6}$' and ${col} <> '000000' then left(${col}, 3) || '000' else '000000' end`;

const STATUT = `case position when 'A' then 'active' when 'D' then 'dissoute' when 'S' then 'supprimée' else coalesce(position, '') end`;

function editionLine(e: FileEdition | undefined, what: string): string {
  if (!e) return `- ${what} : pas chargé`;
  return /^content/.test(e.from)
    ? `- ${what} (${e.fichier}) : date d'extraction inconnue, dernière mise à jour du fichier le ${e.edition}`
    : `- ${what} (${e.fichier}) : extrait du ${e.edition}`;
}

export const pack: PackSection = {
  tables: [
    {
      name: 'associations',
      title: 'Associations dont le siège est dans la commune (RNA)',
      description:
        'Les associations déclarées dont le siège est dans la commune, actives ou dissoutes, d’après le Répertoire national des associations : numéro RNA, nom, objet, thème, dates, adresse du siège.',
      primaryKey: ['numero_rna'],
      rowNoun: { one: 'association', many: 'associations', feminine: true, byKey: false },
      fields: [
        {
          name: 'numero_rna',
          type: 'string',
          title: 'Numéro RNA',
          description: 'Identifiant de l’association au répertoire (W suivi de 9 caractères)',
          required: true,
        },
        {
          name: 'numero_ancien',
          type: 'string',
          title: 'Ancien numéro',
          description: 'Numéro de dossier en préfecture, pour les associations plus anciennes que le RNA',
        },
        {
          name: 'siret',
          type: 'string',
          title: 'SIRET',
          description: 'SIRET de l’association quand elle en a un (employeur, subventions, TVA)',
        },
        { name: 'nom', type: 'string', title: 'Nom', description: 'Titre de l’association tel que déclaré' },
        { name: 'nom_court', type: 'string', title: 'Sigle ou nom court', description: 'Titre court déclaré' },
        { name: 'objet', type: 'string', title: 'Objet', description: 'Objet de l’association tel que déclaré' },
        {
          name: 'code_theme',
          type: 'string',
          title: 'Code du thème',
          description: 'Code du premier objet social (nomenclature des objets sociaux, 6 chiffres)',
        },
        {
          name: 'theme',
          type: 'string',
          title: 'Thème',
          description: 'Famille de ce code (domaines d’activité du Journal officiel des associations)',
        },
        { name: 'code_theme_secondaire', type: 'string', title: 'Code du thème secondaire', description: 'Code du second objet social' },
        { name: 'date_creation', type: 'date', title: 'Date de création', description: 'Date de création déclarée' },
        {
          name: 'date_publication',
          type: 'date',
          title: 'Date de publication',
          description: 'Date de publication de la création au Journal officiel',
        },
        {
          name: 'date_dissolution',
          type: 'date',
          title: 'Date de dissolution',
          description: 'Date de dissolution, vide pour une association active',
        },
        { name: 'statut', type: 'string', title: 'Statut', description: 'active, dissoute ou supprimée (position au répertoire)' },
        {
          name: 'adresse',
          type: 'string',
          title: 'Adresse du siège',
          description: 'Adresse déclarée du siège (numéro, type et nom de voie, complément, distribution)',
        },
        { name: 'code_postal', type: 'string', title: 'Code postal', description: 'Code postal du siège' },
        { name: 'commune_siege', type: 'string', title: 'Commune du siège', description: 'Nom de la commune du siège tel que déclaré' },
        {
          name: 'code_insee_siege',
          type: 'string',
          title: 'Code INSEE du siège (fichier)',
          description:
            'Code INSEE du siège tel que le fichier le donne (ancienne commune possible, arrondissement pour Paris, Lyon et Marseille)',
        },
        { name: 'site_web', type: 'string', title: 'Site internet', description: 'Site internet déclaré' },
        {
          name: 'registre',
          type: 'string',
          title: 'Fichier',
          description: 'waldec (associations gérées depuis 2009) ou import (dossiers plus anciens repris des préfectures)',
        },
      ],
      query: `select a.id as numero_rna, a.id_ex as numero_ancien, a.siret, a.titre as nom, a.titre_court as nom_court, a.objet,
                     a.objet_social1 as code_theme, t.libelle as theme, a.objet_social2 as code_theme_secondaire,
                     to_char(a.date_creation, 'YYYY-MM-DD') as date_creation, to_char(a.date_publication, 'YYYY-MM-DD') as date_publication,
                     to_char(a.date_dissolution, 'YYYY-MM-DD') as date_dissolution, ${STATUT} as statut, a.adresse, a.code_postal,
                     a.libelle_commune as commune_siege, a.code_source as code_insee_siege, a.site_web, a.registre
                from (select distinct on (id) * from association where code_commune = $code
                       order by id, (registre = 'waldec') desc, maj desc nulls last) a
                left join association_theme t on t.code = ${THEME_OF('a.objet_social1')}
               order by a.id`,
      perCommune: true,
    },
    {
      name: 'associations_themes',
      title: 'Associations par thème',
      description:
        'Nombre d’associations dont le siège est dans la commune, par famille de leur premier objet social : actives, dissoutes, autres (supprimées du répertoire).',
      primaryKey: ['code_theme'],
      rowNoun: { one: 'thème', many: 'thèmes', byKey: true },
      fields: [
        {
          name: 'code_theme',
          type: 'string',
          title: 'Code de la famille',
          description: 'Famille de la nomenclature (3 premiers chiffres du code, puis 000) ; 000000 : non renseigné',
          required: true,
        },
        { name: 'theme', type: 'string', title: 'Thème', description: 'Libellé de la famille' },
        { name: 'actives', type: 'integer', title: 'Actives', description: 'Associations actives', required: true },
        { name: 'dissoutes', type: 'integer', title: 'Dissoutes', description: 'Associations dissoutes', required: true },
        {
          name: 'autres',
          type: 'integer',
          title: 'Autres',
          description: 'Associations supprimées du répertoire ou de position inconnue',
          required: true,
        },
      ],
      query: `select c.code_commune, c.theme as code_theme, t.libelle as theme, c.actives, c.dissoutes, c.autres
                from association_compte c left join association_theme t on t.code = c.theme
               where c.code_commune = any($1::text[]) order by c.code_commune, c.theme`,
    },
    {
      name: 'associations_nombre',
      title: 'Nombre d’associations',
      description:
        'Nombre d’associations dont le siège est dans la commune : actives, dissoutes, autres (supprimées du répertoire), total.',
      rowNoun: { one: 'total', many: 'totaux' },
      fields: [
        {
          name: 'actives',
          type: 'integer',
          title: 'Actives',
          description: 'Associations actives (dissolution non déclarée)',
          required: true,
        },
        { name: 'dissoutes', type: 'integer', title: 'Dissoutes', description: 'Associations dissoutes', required: true },
        {
          name: 'autres',
          type: 'integer',
          title: 'Autres',
          description: 'Associations supprimées du répertoire ou de position inconnue',
          required: true,
        },
        {
          name: 'total',
          type: 'integer',
          title: 'Total',
          description: 'Toutes les associations du répertoire dont le siège est dans la commune',
          required: true,
        },
      ],
      query: `select code_commune, sum(actives)::int as actives, sum(dissoutes)::int as dissoutes, sum(autres)::int as autres,
                     sum(actives + dissoutes + autres)::int as total
                from association_compte where code_commune = any($1::text[]) group by code_commune order by code_commune`,
    },
  ],
  sliceVersion: sliceVersionSql('associations'),
  theme: 'Vie associative',
  keywords: ['associations', 'rna', 'repertoire national des associations', 'vie associative'],
  // The waldec and import extracts are dated the first of each month (rna_waldec_YYYYMMDD.zip).
  frequency: 'Mensuelle ou plusieurs fois par mois',
  // SIRET of the (first-named) producer's organisation on data.gouv.fr (src/packs/producers.ts).
  producerSiret: PRODUCER_SIRET.INTERIEUR,
  readme: ({ details }) => {
    const e = (details.editions ?? {}) as Record<string, FileEdition>;
    return `## Associations (associations.csv, associations_themes.csv, associations_nombre.csv)

Les associations déclarées dont le siège est dans la commune, d'après le Répertoire national des associations (RNA) tenu par le ministère de l'Intérieur à partir des déclarations faites en préfecture : numéro RNA, nom, objet, thème, dates de création et de dissolution, adresse du siège, et le nombre d'associations actives et dissoutes par thème. Le thème est la famille du premier « objet social » déclaré (nomenclature des domaines d'activité du Journal officiel des associations) ; une association qui n'en a pas déclaré est comptée sous « Thème non renseigné ».

Le répertoire réunit deux fichiers : « waldec » (associations créées ou modifiées depuis 2009) et « import » (dossiers plus anciens repris des registres des préfectures, moins détaillés). Une association présente dans les deux n'est comptée qu'une fois. Le code INSEE du siège est celui de l'époque de la déclaration : une association d'une commune fusionnée depuis est rattachée à la commune nouvelle ; à Paris, Lyon et Marseille, elle figure dans le dossier de son arrondissement et dans celui de la ville. Les associations d'Alsace-Moselle, inscrites au registre des tribunaux, ne sont pas dans le RNA. « Active » veut dire : dont la dissolution n'a pas été déclarée.

Édition :
${editionLine(e.waldec, 'fichier waldec')}
${editionLine(e.import, 'fichier import')}

- Producteur : ministère de l'Intérieur (Répertoire national des associations)
- Citer : « Source : ministère de l'Intérieur, Répertoire national des associations, extrait du ${e.waldec?.edition ?? e.import?.edition ?? ''} »
`;
  },
};
