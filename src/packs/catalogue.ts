import type { TableSchema } from './format';

/**
 * SCDL `catalogue` 0.1.3 (OpenDataFrance, schema.data.gouv.fr `scdl/catalogue`): the
 * simplified dataset catalogue of a local authority. One row per dataset of the pack.
 */
export const SCDL_CATALOGUE_VERSION = '0.1.3';
export const SCDL_CATALOGUE_URL = 'https://schema.data.gouv.fr/scdl/catalogue/0.1.3/';

const FREQUENCES = [
  'Inconnue',
  'Ponctuelle',
  'Irrégulière',
  'Continuelle',
  'Toutes les heures',
  'Quotidienne ou plusieurs fois par jour',
  'Hebdomadaire ou plusieurs fois par semaine',
  'Mensuelle ou plusieurs fois par mois',
  'Bimestrielle',
  'Trimestrielle',
  'Semestrielle',
  'Annuelle',
  'Biennale',
  'Triennale',
  'Quinquennale',
];
const MAILLES = ['Infracommunale', 'Communale', 'Intercommunale', 'Cantonale', 'Départementale', 'Régionale', 'Autre'];
const LICENCES = ['Licence Ouverte-LO', 'Open Database License-ODBL', 'Creative Commons-CC', 'Spécifique ou autre'];

type F = TableSchema['fields'][number];
const s = (name: string, title: string, description: string, extra: Partial<F> = {}): F => ({
  name,
  type: 'string',
  title,
  description,
  constraints: { required: true },
  ...extra,
});

/**
 * Table Schema of catalogue.csv. COLL_SIRET and PRODUCTEUR_SIRET are required by the SCDL but
 * cannot be derived from national data (the NIC of the mairie is not in the COG): the pack
 * leaves them empty, declares them optional (so its datapackage.json stays valid) and
 * LISEZMOI.md asks the commune to fill them before claiming SCDL conformance.
 */
export const CATALOGUE_SCHEMA: TableSchema = {
  fields: [
    s('COLL_NOM', 'Nom de la collectivité', 'Nom officiel de la collectivité qui publie le catalogue'),
    s(
      'COLL_SIRET',
      'Code SIRET de la collectivité',
      'SIRET de la collectivité (14 chiffres) : obligatoire dans le SCDL, à compléter par la commune avant publication',
      { constraints: { pattern: '\\d{14}' } },
    ),
    s('ID', 'Identifiant du jeu de données', 'Identifiant texte (slug) du jeu de données'),
    s('TITRE', 'Titre du jeu de données', 'Intitulé du jeu de données, avec la commune et le millésime'),
    s('DESCRIPTION', 'Description du jeu de données', 'Résumé du contenu du jeu de données'),
    s('THEME', 'Thème du jeu de données', 'Thème, texte libre de 140 caractères au plus'),
    s('PRODUCTEUR_NOM', 'Nom du producteur', 'Nom officiel du producteur du jeu de données'),
    s(
      'PRODUCTEUR_SIRET',
      'Code SIRET du producteur',
      'SIRET du producteur (14 chiffres) : obligatoire dans le SCDL, à compléter quand il est connu',
      { constraints: { pattern: '\\d{14}' } },
    ),
    s('COUV_SPAT_MAILLE', 'Maille de couverture spatiale', 'Échelle territoriale couverte', {
      constraints: { required: true, enum: MAILLES },
    }),
    s('COUV_SPAT_NOM', 'Nom de couverture spatiale', 'Nom du territoire couvert'),
    { ...s('COUV_TEMP_DEBUT', 'Date de début de la couverture temporelle', 'Début de la période couverte (AAAA-MM-JJ)'), type: 'date' },
    { ...s('COUV_TEMP_FIN', 'Date de fin de la couverture temporelle', 'Fin de la période couverte (AAAA-MM-JJ)'), type: 'date' },
    {
      ...s('DATE_PUBL', 'Date de la première publication', 'Date de publication des données par le producteur (AAAA-MM-JJ)'),
      type: 'date',
    },
    s('FREQ_MAJ', 'Fréquence de la mise à jour', 'Périodicité des mises à jour', { constraints: { required: true, enum: FREQUENCES } }),
    { ...s('DATE_MAJ', 'Date de la dernière mise à jour', 'Date de la dernière mise à jour des données (AAAA-MM-JJ)'), type: 'date' },
    s('MOTS_CLES', 'Mots clés', 'Mots clés en minuscules non accentuées, séparés par des points-virgules'),
    s('LICENCE', 'Licence', 'Licence de réutilisation', { constraints: { required: true, enum: LICENCES } }),
    { ...s('NOMBRE_RESSOURCES', 'Nombre de ressources', 'Nombre de fichiers du jeu de données'), type: 'integer' },
    s('FORMAT_RESSOURCES', 'Formats des ressources', 'Formats des fichiers, en minuscules, séparés par des points-virgules'),
    s('URL', "URL d'accès", 'Adresse de la page du jeu de données'),
  ],
  missingValues: [''],
  primaryKey: ['ID'],
};

/** SCDL LICENCE value of a source licence. */
export function scdlLicence(licence: { id: string; title: string }): string {
  const t = `${licence.id} ${licence.title}`.toLowerCase();
  if (/lov2|licence ouverte|open licence|etalab/.test(t)) return 'Licence Ouverte-LO';
  if (/odbl|open database/.test(t)) return 'Open Database License-ODBL';
  if (/\bcc[- ]|creative commons/.test(t)) return 'Creative Commons-CC';
  return 'Spécifique ou autre';
}

/** Frictionless / SPDX-like licence name. */
export function licenceName(licence: { id: string; title: string }): string {
  const l = scdlLicence(licence);
  if (l === 'Licence Ouverte-LO') return 'etalab-2.0';
  if (l === 'Open Database License-ODBL') return 'ODbL-1.0';
  return licence.id;
}

/** SCDL FREQ_MAJ from the source's cron schedule (how often the producer publishes, roughly). */
export function frequencyOfCron(cron: string): string {
  const parts = cron.trim().split(/\s+/);
  const [, , dom, mon, dow] = parts.length === 6 ? parts.slice(1) : parts;
  if (mon === '*' && dom === '*' && dow === '*') return 'Quotidienne ou plusieurs fois par jour';
  if (mon === '*' && dom === '*') return 'Hebdomadaire ou plusieurs fois par semaine';
  if (mon === '*') return 'Mensuelle ou plusieurs fois par mois';
  const months = mon.split(',').filter(Boolean);
  if (months.some((m) => m.includes('/') || m.includes('-'))) return 'Irrégulière';
  const nums = months.map(Number).sort((a, b) => a - b);
  if (nums.length === 1 || nums[nums.length - 1] - nums[0] <= 2) return 'Annuelle';
  if (nums.length === 2) return 'Semestrielle';
  if (nums.length === 4) return 'Trimestrielle';
  if (nums.length === 6) return 'Bimestrielle';
  return 'Irrégulière';
}
