import type { PoolClient } from 'pg';
import type { Coverage } from '../../config/sources';
import { ident } from '../db/pool';
import { z } from 'zod';
import { ContentError } from './errors';

/**
 * The publication guard. A source declares what one publication of it is expected to cover
 * (`coverage` in its source.ts); inside the publishing transaction, the published table is
 * measured before and after the pipeline's writes, and a publication that lost more than the
 * declared share of its communes or rows against the published edition is refused: the
 * transaction is rolled back, the run ends `refused` with a message saying why, and the data
 * stay as they were. `--allow-shrink` forces it (the run log and the published details say so).
 *
 * Kinds of coverage:
 *  - `national`: each publication holds all of France: its communes and rows are compared with
 *    the published edition's;
 *  - `departement`: a file holds whole départements and replaces only those (the pipeline deletes
 *    by département): each département it holds is compared with what was published for it;
 *  - `partial`: a file may hold any communes and replaces only those: nothing to compare, but an
 *    empty publication is still refused.
 *
 * Refusals are written in French (« populations : 3 communes au lieu de 34 913 dans l’édition
 * publiée 2021 (−100,0 %) … — refusé, rien n’a été publié ; --allow-shrink pour forcer »): they are
 * what an operator reads on the console's runs page (French) as well as in `dotation runs`; the
 * option keeps its name.
 */
const DEFAULT_MAX_SHRINK = 0.05;

/** A publication refused by the guard: the run ends `refused`, never retried (CLI exit code 65, EX_DATAERR). */
export class PublicationRefused extends ContentError {
  override name = 'PublicationRefused';
  readonly exitCode = 65;
}

interface Count {
  rows: number;
  communes: number;
}

export interface Measure {
  /** The edition measured (null: the whole table). */
  edition: string | null;
  total: Count;
  byDep: Map<string, Count>;
}

const DEP_OF = (c: string) => `geo_departement(${c})`;

/** The coverage declaration that applies to a publication labelled `label` (or none). */
export function coverageFor(declared: Coverage | Coverage[] | undefined, label: string): Coverage | undefined {
  const list = declared === undefined ? [] : Array.isArray(declared) ? declared : [declared];
  return list.find((c) => !c.editions || new RegExp(c.editions).test(label));
}

/** Rows and distinct communes of the table, in all and by département, for one edition (or all). */
export async function measure(tx: PoolClient, cov: Coverage, edition: string | null): Promise<Measure> {
  const commune = ident(cov.commune ?? 'code_commune');
  const dep = cov.departement ? ident(cov.departement) : DEP_OF(commune);
  const where = cov.edition && edition !== null ? `where (${cov.edition}) = $1` : '';
  // Grouped twice rather than count(distinct): a plain GROUP BY may run as a parallel hash
  // aggregate, count(distinct) never does (a sort of every row: the BAN's 26 M).
  const { rows } = await tx.query(
    `select dep, sum(n)::bigint as rows, count(*)::bigint as communes
       from (select ${dep} as dep, ${commune} as commune, count(*) as n from ${ident(cov.table)} ${where} group by 1, 2) per_commune
      group by 1`,
    where ? [edition] : [],
  );
  const byDep = new Map<string, Count>();
  const total: Count = { rows: 0, communes: 0 };
  for (const r of rows) {
    const c = { rows: Number(r.rows), communes: Number(r.communes) };
    byDep.set(String(r.dep), c);
    total.rows += c.rows;
    total.communes += c.communes;
  }
  return { edition: cov.edition ? edition : null, total, byDep };
}

/** A measure as the ledger keeps it (published_datasets.measure): plain JSON. */
export interface StoredMeasure {
  table: string;
  edition: string | null;
  rows: number;
  communes: number;
  byDep: Record<string, [rows: number, communes: number]>;
}

export function storeMeasure(cov: Coverage, m: Measure): StoredMeasure {
  return {
    table: cov.table,
    edition: m.edition,
    rows: m.total.rows,
    communes: m.total.communes,
    byDep: Object.fromEntries([...m.byDep].map(([d, c]) => [d, [c.rows, c.communes]])),
  };
}

const StoredShape = z.object({
  table: z.string(),
  edition: z.string().nullable(),
  rows: z.number(),
  communes: z.number(),
  byDep: z.record(z.string(), z.tuple([z.number(), z.number()])),
});

/**
 * What was published, as the ledger recorded it at its publication, or null when the ledger has
 * no usable record (a publication older than the record, another table): the caller then scans.
 * For a coverage without editions, the record of the source's latest publication (it measured
 * the whole table). Only for a table of at least `minRows` rows (GUARD_LEDGER_MIN_ROWS): such a
 * table must only be written by publications, the record being then what is published.
 */
export async function recordedMeasure(
  tx: PoolClient,
  source: string,
  cov: Coverage,
  edition: string | null,
  minRows: number,
): Promise<Measure | null> {
  // PostgreSQL's estimate of the table's rows (its partitions' for a partitioned one): a small table is cheaper to scan than to trust.
  const {
    rows: [size],
  } = await tx.query(
    `select coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 as n from pg_class c
      where c.oid = to_regclass($1) or c.oid in (select inhrelid from pg_inherits where inhparent = to_regclass($1))`,
    [cov.table],
  );
  if (Number(size.n) < minRows) return null;
  const { rows } = await tx.query(
    `select measure from published_datasets
      where source = $1 and ($2::text is null or millesime = $2)
      order by published_at desc limit 1`,
    [source, cov.edition ? edition : null],
  );
  const parsed = StoredShape.safeParse(rows[0]?.measure);
  if (!parsed.success || parsed.data.table !== cov.table || parsed.data.edition !== (cov.edition ? edition : null)) return null;
  const m = parsed.data;
  return {
    edition: m.edition,
    total: { rows: m.rows, communes: m.communes },
    byDep: new Map(Object.entries(m.byDep).map(([d, [r, c]]) => [d, { rows: r, communes: c }])),
  };
}

/**
 * The edition a new publication is compared with: itself when it was published before; else
 * (reference `latest`) the published edition just before it in time (loading an older edition to
 * fill the history is not compared with the newest). Null: nothing to compare with (a first
 * publication, or a new edition under reference `same`).
 */
export async function referenceEdition(
  tx: PoolClient,
  source: string,
  cov: Coverage,
  edition: { label: string; key: string },
): Promise<string | null> {
  if (!cov.edition) return null;
  const { rows } = await tx.query(
    `select millesime from published_datasets
      where source = $1 and ($2::text is null or millesime ~ $2)
        and (millesime = $3 or ($4 = 'latest' and edition_key collate "C" < $5))
      order by (millesime = $3) desc, edition_key collate "C" desc, published_at desc limit 1`,
    [source, cov.editions ?? null, edition.label, cov.reference ?? 'latest', edition.key],
  );
  return (rows[0]?.millesime as string | undefined) ?? null;
}

/** French numbers: 34 913 (narrow no-break space), −100,0 %. */
const fmt = (n: number) => n.toLocaleString('fr-FR');
const pct = (a: number, b: number) => `${(100 * (1 - a / b)).toFixed(1).replace('.', ',')} %`;
const plural = (n: number, one: string, many: string) => `${fmt(n)} ${n > 1 ? many : one}`;
const REFUSED = 'refusé, rien n’a été publié ; --allow-shrink pour forcer';

/**
 * Compares what the publication holds (`after`) with what was published (`before`, null when
 * there is nothing to compare with). Returns the reasons to refuse, empty when it may go.
 */
export function shrinkReasons(source: string, cov: Coverage, before: Measure | null, after: Measure): string[] {
  const max = cov.maxShrink ?? DEFAULT_MAX_SHRINK;
  const what = (e: string | null) => (e ? `l’édition publiée ${e}` : 'les données publiées');
  if (after.total.rows === 0) {
    const had =
      before && before.total.rows
        ? ` (${what(before.edition)} ${before.edition ? 'compte' : 'comptent'} ${plural(before.total.communes, 'commune', 'communes')})`
        : '';
    return [`${source} : rien à publier : 0 ligne${had}`];
  }
  if (!before || cov.kind === 'partial') return [];
  const reasons: string[] = [];
  const compare = (where: string, a: Count, b: Count) => {
    if (b.communes > 0 && a.communes < (1 - max) * b.communes)
      reasons.push(
        `${where}${plural(a.communes, 'commune', 'communes')} au lieu de ${fmt(b.communes)} dans ${what(before.edition)} (−${pct(a.communes, b.communes)})`,
      );
    else if (b.rows > 0 && a.rows < (1 - max) * b.rows)
      reasons.push(
        `${where}${plural(a.rows, 'ligne', 'lignes')} au lieu de ${fmt(b.rows)} dans ${what(before.edition)} (−${pct(a.rows, b.rows)})`,
      );
  };
  if (cov.kind === 'national') compare(`${source} : `, after.total, before.total);
  else
    for (const [dep, a] of [...after.byDep].sort(([x], [y]) => x.localeCompare(y))) {
      const b = before.byDep.get(dep);
      if (b) compare(`${source} : département ${dep} : `, a, b);
    }
  return reasons;
}

/** The refusal, in one message: what shrank, the limit, and how to force it. */
export function refusal(reasons: string[], cov: Coverage): PublicationRefused {
  const max = cov.maxShrink ?? DEFAULT_MAX_SHRINK;
  const shown = reasons.slice(0, 5).join(' ; ') + (reasons.length > 5 ? ` ; et ${reasons.length - 5} autres` : '');
  const limit = /rien à publier/.test(reasons[0]) ? '' : ` (plus que les ${(max * 100).toFixed(0)} % qu’une publication peut perdre)`;
  return new PublicationRefused(`${shown}${limit} — ${REFUSED}`);
}
