import { COMMUNE_CODE, departementOf, plmCommune } from '../communes/codes';
import type { Pool } from 'pg';

/**
 * What one source adds to each commune pack: tables (CSV with a Table Schema) and
 * geographic layers (GeoJSON). Queries take `$1 = text[]` of commune codes (a batch,
 * typically one département) and return a `code_commune` column, so the builder runs one
 * query per batch, never one per commune. Columns are mapped by name.
 */
export type FieldType = 'string' | 'integer' | 'number' | 'date' | 'datetime' | 'boolean' | 'year';

export interface PackField {
  /** Column name in the CSV: French, understandable by a secretary of mairie. */
  name: string;
  type: FieldType;
  title: string;
  description: string;
  required?: boolean;
}

export interface PackTable {
  /** File name without extension: `population` → population.csv. */
  name: string;
  title: string;
  description: string;
  fields: PackField[];
  /**
   * Columns whose values identify a row (the address `id`, the millésime, election + tour…):
   * written as the Table Schema `primaryKey` of datapackage.json, and how changes.json tells a
   * modified row (same key, other values) from a removed one and an added one.
   */
  primaryKey?: string[];
  /**
   * How changes.json and the change feeds name this table's rows, in French (default: « ligne de <fichier> »).
   * With `byKey`, a change of one row is named by its key: « population légale 2022 ajoutée ».
   */
  rowNoun?: RowNoun;
  /**
   * SQL returning, for codes `$1`, a column `code_commune` and one column named as each field
   * (`pmun as population_municipale`): columns are taken by name, in any order; a missing or
   * unexpected column fails the build, naming it. Rows ordered for determinism.
   * With `perCommune`: the fields only, for the one commune `$code`.
   */
  query: string;
  /**
   * Large tables (the BAN: millions of rows): the query runs once per commune inside
   * `COPY … TO STDOUT (FORMAT csv)`, so PostgreSQL writes the CSV and Node never handles a row;
   * `$code` stands for the commune's code (a checked literal), `$departement` and `$commune_plm`
   * for its département and its commune (see perCommuneSql). Line ends are LF, as in the national files.
   */
  perCommune?: boolean;
}

export interface RowNoun {
  one: string;
  many: string;
  /** Agreement of the participle: « adresse modifiée », « équipement modifié ». */
  feminine?: boolean;
  byKey?: boolean;
}

export interface PackLayer {
  /** File name without extension: `contour` → contour.geojson. */
  name: string;
  title: string;
  description: string;
  /**
   * SQL returning columns `code_commune`, `properties` (jsonb) and `geometry` (GeoJSON text) for codes `$1`.
   * With `perCommune`: one column `feature`, the JSON text of each Feature, for the one commune `$code`.
   */
  query: string;
  /** Large layers: streamed per commune with COPY, like PackTable.perCommune. */
  perCommune?: boolean;
}

interface PackSourceInfo {
  millesime: string;
  publishedAt: string;
  details: Record<string, unknown>;
}

/** One published millésime of a source (published_datasets row): what licence choices read. */
export interface PublishedEdition {
  millesime: string;
  details: Record<string, unknown>;
}

/** A licence as the packs cite it: id (data.gouv.fr / Open Definition), title in French, URL of its text or page. */
export interface PackLicence {
  id: string;
  title: string;
  url: string;
}

/** SCDL catalogue FREQ_MAJ values (scdl/catalogue 0.1.3) a source can declare. */
export type ScdlFrequency =
  | 'Ponctuelle'
  | 'Irrégulière'
  | 'Continuelle'
  | 'Quotidienne ou plusieurs fois par jour'
  | 'Hebdomadaire ou plusieurs fois par semaine'
  | 'Mensuelle ou plusieurs fois par mois'
  | 'Trimestrielle'
  | 'Semestrielle'
  | 'Annuelle';

export interface PackSection {
  tables: PackTable[];
  layers?: PackLayer[];
  /** Paragraph of LISEZMOI.md, in plain French: what it is, producer, millésime, licence, how to cite. */
  readme(info: PackSourceInfo): string;
  /** SCDL catalogue THEME (free French text, ≤ 140 characters). Default: 'Données de référence'. */
  theme?: string;
  /** SCDL catalogue MOTS_CLES: lower case, no accents. Default: the source id. */
  keywords?: string[];
  /**
   * SQL returning `(code, version)` for commune codes `$1`: the version of this source's slice of
   * each commune (the BAN: its département file's run and enrichment). With it, republishing one
   * part of the source (one département) re-reads only the communes of that part; without it,
   * any new run of the source re-reads every commune.
   */
  sliceVersion?: string;
  /** SIRET of the producer (SCDL PRODUCTEUR_SIRET, 14 digits), when verified: cite where it was read beside it. */
  producerSiret?: string;
  /**
   * How often the producer publishes a new edition (SCDL FREQ_MAJ, DCAT accrualPeriodicity): not the
   * check schedule (`source.schedule`), which may poll more often than the data changes.
   */
  frequency?: ScdlFrequency;
  /**
   * The producer's publication date (YYYY-MM-DD) of an edition, by millésime, when neither the run's
   * provenance nor the resource URL gives it; cite the evidence beside each date.
   */
  publications?: Record<string, string>;
  /**
   * The licence of what the pack holds when it differs from `source.licence` (one scrutin under another
   * licence): from every published millésime of the source. One licence per dataset, cited everywhere.
   */
  licence?(editions: PublishedEdition[]): PackLicence;
  /** Why a commune has no row in this source although it is loaded (French, one sentence); default: a generic reason. */
  emptyReason?(info: PackSourceInfo): string;
  /**
   * Per-commune reasons (French) for the communes that have no row in the latest millésime, when the
   * source can tell them apart (a commune created after the census); read once per build.
   */
  whyMissing?(db: Pool, millesime: string): Promise<Map<string, string>>;
}

/**
 * The SQL of a per-commune query for one commune: `$code` the commune's code, `$departement` its
 * département (geo_departement), `$commune_plm` the commune of an arrondissement municipal, else
 * the code itself (geo_commune_plm), each as a literal. Why literals rather than the SQL functions:
 * a partitioned table (the BAN's, a partition per département) is pruned when the query is
 * planned only when the département is a constant; `departement = geo_departement('35238')` made
 * PostgreSQL plan over the hundred partitions, 1.7 ms a query against 0.07 ms, twice per commune.
 * The code must be a commune code (checked here: it goes into the SQL text, COPY takes no parameters).
 */
export function perCommuneSql(sql: string, code: string): string {
  if (!COMMUNE_CODE.test(code)) throw new Error(`unexpected commune code '${code}'`);
  return sql
    .replaceAll('$departement', `'${departementOf(code)}'`)
    .replaceAll('$commune_plm', `'${plmCommune(code) ?? code}'`)
    .replaceAll('$code', `'${code}'`);
}

/** The same query for the commune whose code is the SQL expression `expr` (a lateral join over many communes: tests). */
export function perCommuneSqlOf(sql: string, expr: string): string {
  return sql
    .replaceAll('$departement', `geo_departement(${expr})`)
    .replaceAll('$commune_plm', `geo_commune_plm(${expr})`)
    .replaceAll('$code', expr);
}
