import type { TableSchema } from './format';
import type { CommuneRow, PackPlan, Shipped, SourceMeta } from './content';
import type { PackLicence } from './section';
import { slugify, toCsv } from './format';
import { PRODUCER_SIRET } from './producers';

/**
 * SCDL `catalogue` 0.1.3 (OpenDataFrance, schema.data.gouv.fr `scdl/catalogue`): the
 * simplified dataset catalogue of a local authority. One row per dataset of the pack.
 */
export const SCDL_CATALOGUE_VERSION = '0.1.3';
export const SCDL_CATALOGUE_URL = 'https://schema.data.gouv.fr/scdl/catalogue/0.1.3/';
/** The schema file of that version as schema.data.gouv.fr serves it (a copy with its provenance: test/fixtures/scdl-catalogue/real/). */
export const SCDL_CATALOGUE_SCHEMA_URL = 'https://schema.data.gouv.fr/schemas/scdl/catalogue/0.1.3/schema.json';

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
 * Table Schema of catalogue.csv: the official scdl/catalogue 0.1.3 (same fields, order, types, enums,
 * patterns; test/fixtures/scdl-catalogue/real/schema.json, compared field by field in
 * test/unit/catalogue-scdl.test.ts) except that COLL_SIRET, PRODUCTEUR_SIRET and DATE_PUBL/DATE_MAJ may
 * be empty here: the mairie's SIRET (its NIC) is in no national file the server loads, and a producer's
 * SIRET or date that nothing verified is left empty rather than invented. LISEZMOI.md names each one
 * the commune must fill before publishing.
 */
export const CATALOGUE_SCHEMA: TableSchema = {
  fields: [
    s('COLL_NOM', 'Nom de la collectivité', 'Nom officiel de la collectivité qui publie le catalogue'),
    s(
      'COLL_SIRET',
      'Code SIRET de la collectivité',
      'SIRET de la collectivité (14 chiffres) : obligatoire dans le SCDL, à compléter par la commune avant publication',
      { constraints: { pattern: '^\\d{14}$' } },
    ),
    s('ID', 'Identifiant du jeu de données', 'Identifiant texte (slug) du jeu de données'),
    s('TITRE', 'Titre du jeu de données', 'Intitulé du jeu de données, avec la commune et le millésime'),
    s('DESCRIPTION', 'Description du jeu de données', 'Résumé du contenu du jeu de données'),
    s('THEME', 'Thème du jeu de données', 'Thème, texte libre de 140 caractères au plus'),
    s('PRODUCTEUR_NOM', 'Nom du producteur', 'Nom officiel du producteur du jeu de données'),
    s(
      'PRODUCTEUR_SIRET',
      'Code SIRET du producteur',
      'SIRET du producteur (14 chiffres), relevé sur data.gouv.fr ; vide quand il n’a pas été vérifié',
      { constraints: { pattern: '^\\d{14}$' } },
    ),
    s('COUV_SPAT_MAILLE', 'Maille de couverture spatiale', 'Échelle territoriale couverte', {
      constraints: { required: true, enum: MAILLES },
    }),
    s('COUV_SPAT_NOM', 'Nom de couverture spatiale', 'Nom du territoire couvert'),
    { ...s('COUV_TEMP_DEBUT', 'Date de début de la couverture temporelle', 'Début de la période couverte (AAAA-MM-JJ)'), type: 'date' },
    { ...s('COUV_TEMP_FIN', 'Date de fin de la couverture temporelle', 'Fin de la période couverte (AAAA-MM-JJ)'), type: 'date' },
    {
      ...s(
        'DATE_PUBL',
        'Date de la première publication',
        "Date de publication du millésime par le producteur (AAAA-MM-JJ) ; vide quand aucune source ne l'indique",
      ),
      type: 'date',
      constraints: {},
    },
    s('FREQ_MAJ', 'Fréquence de la mise à jour', 'Périodicité des mises à jour', { constraints: { required: true, enum: FREQUENCES } }),
    {
      ...s(
        'DATE_MAJ',
        'Date de la dernière mise à jour',
        'Date de publication du dernier millésime par le producteur (AAAA-MM-JJ) ; vide quand inconnue',
      ),
      type: 'date',
      constraints: {},
    },
    s('MOTS_CLES', 'Mots clés', 'Mots clés en minuscules non accentuées, séparés par des points-virgules'),
    s('LICENCE', 'Licence', 'Licence de réutilisation', { constraints: { required: true, enum: LICENCES } }),
    {
      ...s('NOMBRE_RESSOURCES', 'Nombre de ressources', 'Nombre de fichiers du jeu de données'),
      type: 'integer',
      constraints: { required: true, minimum: 1 },
    },
    s('FORMAT_RESSOURCES', 'Formats des ressources', 'Formats des fichiers, en minuscules, séparés par des points-virgules'),
    {
      ...s('URL', "URL d'accès", 'Adresse du fichier, ou de la page de la commune quand le jeu de données a plusieurs fichiers'),
      format: 'uri',
    },
  ],
  missingValues: [''],
  primaryKey: ['ID'],
};

/** SCDL LICENCE value of a source licence. */
export function scdlLicence(licence: { id: string; title: string }): string {
  const t = `${licence.id} ${licence.title}`.toLowerCase();
  if (/notspecified|non spécifiée/.test(t)) return 'Spécifique ou autre';
  if (/lov2|licence ouverte|open licence|etalab/.test(t)) return 'Licence Ouverte-LO';
  if (/odbl|open database/.test(t)) return 'Open Database License-ODBL';
  if (/\bcc[- ]|creative commons/.test(t)) return 'Creative Commons-CC';
  return 'Spécifique ou autre';
}

/** Frictionless / SPDX licence name: etalab-2.0 and ODbL-1.0 are SPDX ids; other ids are data.gouv.fr's (notspecified). */
export function licenceName(licence: { id: string; title: string }): string {
  const l = scdlLicence(licence);
  if (l === 'Licence Ouverte-LO') return 'etalab-2.0';
  if (l === 'Open Database License-ODBL') return 'ODbL-1.0';
  return licence.id;
}

/**
 * Temporal coverage of a millésime: a year (2021), a quarter (2024_T3), or any label holding a
 * year (presidentielle-2022-t2); else the day the source was published.
 */
export function yearBounds(m: string, publishedAt = ''): [string, string] {
  if (/^\d{4}$/.test(m)) return [`${m}-01-01`, `${m}-12-31`];
  const q = /^(\d{4})[_-]?T([1-4])$/i.exec(m);
  if (q) {
    const first = (Number(q[2]) - 1) * 3 + 1;
    const last = new Date(Date.UTC(Number(q[1]), first + 2, 0)).getUTCDate();
    return [`${q[1]}-${String(first).padStart(2, '0')}-01`, `${q[1]}-${String(first + 2).padStart(2, '0')}-${last}`];
  }
  const y = /(?:^|\D)((?:19|20)\d{2})(?:\D|$)/.exec(m)?.[1];
  if (y) return [`${y}-01-01`, `${y}-12-31`];
  return [publishedAt, publishedAt];
}

/** First and last day the loaded editions of a source cover (every published millésime, not only the latest). */
function coverage(meta: SourceMeta): [string, string] {
  const bounds = (meta.facts.editions.length ? meta.facts.editions.map((e) => e.millesime) : [meta.millesime]).map((m) =>
    yearBounds(m, meta.publishedAt),
  );
  return [
    bounds.map((b) => b[0]).sort()[0],
    bounds
      .map((b) => b[1])
      .sort()
      .at(-1)!,
  ];
}

interface CatalogueEntry {
  meta: SourceMeta;
  title: string;
  description: string;
  files: string[];
  theme: string;
  keywords: string[];
  siret: string;
  licence: PackLicence;
}

/**
 * catalogue.csv: one row per dataset this commune's pack holds (the referential as commune.json, then
 * every source with at least one non-empty file), following scdl/catalogue 0.1.3. COLL_SIRET is left
 * for the commune; PRODUCTEUR_SIRET is the producer's verified SIRET; DATE_PUBL and DATE_MAJ are the
 * producer's publication date of the edition (empty when nothing states it), never the build date.
 */
export function catalogueCsv(c: CommuneRow, plan: PackPlan, present: Shipped[]): string {
  const maille = c.type === 'arrondissement-municipal' ? 'Infracommunale' : 'Communale';
  const entries: CatalogueEntry[] = [];
  if (plan.cog) {
    entries.push({
      meta: plan.cog,
      title: plan.cog.pipeline.source.title,
      description: "Fiche d'identité de la commune : codes, nom, département, région, intercommunalité, codes postaux, anciens codes.",
      files: ['commune.json'],
      theme: 'Administration locale',
      keywords: ['referentiel', 'cog', 'commune'],
      siret: plan.cog.section?.producerSiret ?? PRODUCER_SIRET.INSEE,
      licence: plan.cog.facts.licence,
    });
  }
  for (const p of present) {
    const s = p.source;
    const tables = plan.tables.filter((t) => t.source === s && p.files.some((f) => f.name === t.file));
    const layers = plan.layers.filter((l) => l.source === s && p.files.some((f) => f.name === l.file));
    entries.push({
      meta: s,
      title: s.pipeline.source.title,
      description: [...tables.map((t) => t.table.description), ...layers.map((l) => l.layer.description)].join(' '),
      files: p.files.map((f) => f.name),
      theme: s.section?.theme ?? 'Données de référence',
      keywords: s.section?.keywords ?? [s.id],
      siret: s.section?.producerSiret ?? '',
      licence: s.facts.licence,
    });
  }
  const rows = entries.map((d) => {
    const [debut, fin] = coverage(d.meta);
    const formats = [...new Set(d.files.map((f) => f.split('.').pop()!))].join(';');
    const date = d.meta.facts.producerDate ?? '';
    return [
      c.nom,
      '',
      `${c.code}-${d.meta.id}`,
      `${d.title} : ${c.nom} (${c.code}), millésime ${d.meta.millesime}`,
      d.description || d.title,
      d.theme,
      d.meta.pipeline.source.producer,
      d.siret,
      maille,
      c.nom,
      debut,
      fin,
      date,
      d.meta.facts.frequency,
      date,
      d.keywords.map(slugify).join(';'),
      scdlLicence(d.licence),
      String(d.files.length),
      formats,
      d.files.length === 1
        ? `${plan.baseUrl}/communes/${c.code}/fichiers/${d.files[0]}`
        : `${plan.baseUrl}/communes/${c.code}/page#${d.meta.id}`,
    ];
  });
  return toCsv(
    CATALOGUE_SCHEMA.fields.map((f) => f.name),
    rows,
  );
}
