import type { Pool } from 'pg';
import type { RunContext } from '../engine/pipeline';
import type { StagingTable } from '../engine/staging';

/**
 * Re-coding of commune codes, written once. A file gives codes of the geography (COG) of its
 * own year; packs are keyed by the current communes. Every pipeline goes through `recode()`:
 * the SQL that follows a code through the COG's history (`commune_passage`, migration 003)
 * lives here and nowhere else.
 */

/** What happens to the rows of a commune split since the file's COG into several communes. */
type SplitPolicy =
  /**
   * Its rows go to the successor that kept its code (a figure stays where the code stayed);
   * when every successor took a new code, they are quarantined: a count cannot be divided.
   */
  | 'keep-on-code'
  /** Always quarantined, even when a successor kept the code. */
  | 'quarantine';

/** What an arrondissement municipal of Paris, Lyon or Marseille becomes. */
type PlmPolicy =
  /** A row of its own (type `arrondissement-municipal`). */
  | 'keep'
  /** Summed into its commune (type `commune-actuelle`). */
  | 'roll-up'
  /** Both: a row of its own and a part of its commune's sum. */
  | 'both'
  /** Quarantined: the source has no figure at that level (a commune's accounts). */
  | 'reject';

/** A file holding both a PLM commune and its arrondissements. */
type PlmOverlap =
  /** Aggregates: the commune's own row is dropped as the sum of its arrondissements (never counted twice). */
  | 'prefer-arrondissements'
  /** Shapes: the arrondissements are dropped where the commune is in the file itself. */
  | 'prefer-commune'
  /** One row per object (a site, an equipment): every row is taken as it is. */
  | 'keep-all';

export interface RecodeOptions {
  /** COG year of the file's geography: codes valid on 1 January of that year. */
  cog: number;
  /** Upstream column named in the quarantine reasons (`CODCOM`, `insee_com`…). */
  column: string;
  /** See SplitPolicy. */
  split: SplitPolicy;
  /** See PlmPolicy. */
  plm: PlmPolicy;
  /** See PlmOverlap (default `prefer-arrondissements`). */
  overlap?: PlmOverlap;
  /** Staging column holding the code (default `code`). */
  codeColumn?: string;
  /**
   * SQL condition on the staged row `s`: only those rows are re-coded and checked (default: all).
   * Other rows (an EPCI row, a candidate row sharing its record's line…) are left alone.
   */
  where?: string;
  /** SQL text expression over `s` put before every reason (`'feature ' || s.line || ': '`). */
  reasonPrefix?: string;
  /** End of the reason of a split commune's rows (`its population cannot be divided`). */
  splitReason?: string;
}

export interface Recoded {
  /**
   * Qualified name of the map table: `(code, code_actuel, type, nb)`, one row per target of a
   * staged code; `nb` = how many codes of the file are summed into that target (1 lets a
   * publication skip the aggregation). Join it as `staging s join map m on m.code = s.code`.
   */
  map: string;
  /** Rows quarantined (unknown or split codes); already taken from ctx.counters.loaded. */
  rejected: number;
}

const runsRecoded = new WeakMap<RunContext, number>();

/**
 * Materialises `commune_passage(cog)` (every code valid in COG `cog` → its current commune(s),
 * `nb` = how many) into a table of the run, indexed, so set-based re-coding joins it once.
 */
async function stagePassage(ctx: RunContext, cog: number): Promise<string> {
  const t = await ctx.scratch(`passage_${cog}`, { code: 'text', code_actuel: 'text', nature: 'text', nb: 'int' });
  await ctx.db.query(`insert into ${t.qualified} select * from commune_passage($1::int)`, [cog]);
  await ctx.db.query(`create index on ${t.qualified} (code)`);
  await ctx.db.query(`analyze ${t.qualified}`);
  return t.qualified;
}

const qualifiedOf = (t: string | StagingTable) => (typeof t === 'string' ? t : t.qualified);
const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Re-codes the staged rows of one file (or several files of the same geography) to the current
 * communes, in one set-based pass: builds the map table (see Recoded.map), quarantines the rows
 * whose code leads nowhere (file, line, raw and the reason) and takes them from
 * `ctx.counters.loaded`. Staged rows must have the columns `code` (or `codeColumn`), `fichier`,
 * `line`, `raw` (ctx.staging checks it).
 *
 * Rows dropped by the `overlap` rule are neither mapped nor quarantined: the commune they stand
 * for is published from the other rows (a PLM commune = the sum of its arrondissements).
 */
export async function recode(
  ctx: RunContext,
  staging: string | StagingTable | (string | StagingTable)[],
  opts: RecodeOptions,
): Promise<Recoded> {
  const tables = (Array.isArray(staging) ? staging : [staging]).map(qualifiedOf);
  const col = opts.codeColumn ?? 'code';
  const where = opts.where ?? 'true';
  const overlap = opts.overlap ?? 'prefer-arrondissements';
  const n = (runsRecoded.get(ctx) ?? 0) + 1;
  runsRecoded.set(ctx, n);
  const passage = await stagePassage(ctx, opts.cog);

  // Every distinct code of the rows to re-code.
  const codes = await ctx.scratch(`recode${n}_codes`, { code: 'text', status: 'text' });
  await ctx.db.query(
    `insert into ${codes.qualified} (code)
     select distinct code from (${tables.map((t) => `select s.${col} as code from ${t} s where ${where}`).join(' union all ')}) u where code is not null`,
  );
  await ctx.db.query(`create index on ${codes.qualified} (code)`);
  await ctx.db.query(`analyze ${codes.qualified}`);

  // Arrondissements of the file, minus those the overlap rule drops.
  const arm =
    opts.plm === 'reject'
      ? `select null::text as code, null::text as commune_parent where false`
      : `select c.code, c.commune_parent from communes c join ${codes.qualified} k using (code)
          where c.type = 'arrondissement-municipal'
            ${overlap === 'prefer-commune' ? `and not exists (select 1 from ${codes.qualified} x where x.code = c.commune_parent)` : ''}`;
  const kept = opts.split === 'keep-on-code' ? '(p.nb = 1 or p.code_actuel = p.code)' : 'p.nb = 1';
  const map = await ctx.scratch(`recode${n}_map`, { code: 'text', code_actuel: 'text', type: 'text', nb: 'int' });
  await ctx.db.query(
    `insert into ${map.qualified} (code, code_actuel, type)
     with arm as (${arm})
     ${opts.plm === 'keep' || opts.plm === 'both' ? `select code, code, 'arrondissement-municipal' from arm union all` : ''}
     ${opts.plm === 'roll-up' || opts.plm === 'both' ? `select code, commune_parent, 'commune-actuelle' from arm union all` : ''}
     select p.code, p.code_actuel, 'commune-actuelle' from ${passage} p join ${codes.qualified} k using (code)
      where ${kept}
        and not exists (select 1 from communes c where c.code = p.code and c.type = 'arrondissement-municipal')
        ${overlap === 'prefer-arrondissements' ? `and not exists (select 1 from arm where arm.commune_parent = p.code)` : ''}`,
  );
  await ctx.db.query(`update ${map.qualified} m set nb = x.n
                        from (select code_actuel, type, count(*)::int as n from ${map.qualified} group by 1, 2) x
                       where x.code_actuel = m.code_actuel and x.type = m.type`);
  await ctx.db.query(`create index on ${map.qualified} (code)`);
  await ctx.db.query(`analyze ${map.qualified}`);

  // Why each code is (not) mapped.
  await ctx.db.query(
    `update ${codes.qualified} k set status = case
       when exists (select 1 from ${map.qualified} m where m.code = k.code) then 'mapped'
       when exists (select 1 from communes c where c.code = k.code and c.type = 'arrondissement-municipal')
         then ${opts.plm === 'reject' ? `'arrondissement'` : `'superseded'`}
       when exists (select 1 from communes c where c.type = 'arrondissement-municipal' and c.commune_parent = k.code
                      and exists (select 1 from ${map.qualified} a where a.code = c.code)) then 'superseded'
       when exists (select 1 from ${passage} p where p.code = k.code) then 'split'
       else 'unknown' end`,
  );
  const prefix = opts.reasonPrefix ? `${opts.reasonPrefix} || ` : '';
  const splitTail = `${opts.split === 'keep-on-code' ? ', none of which kept its code' : ''}${opts.splitReason ? `: ${opts.splitReason}` : ''}`;
  let rejected = 0;
  for (const t of tables) {
    rejected += await ctx.rejectStaged(
      `select s.fichier as file, s.line, s.raw, ${prefix}case
         when k.status = 'split' then
           ${sqlText(`column ${opts.column}: commune `)} || s.${col} || ' of COG ' || $1::text || ' was split since into ' ||
           (select string_agg(p.code_actuel, ', ' order by p.code_actuel) from ${passage} p where p.code = s.${col}) || ${sqlText(splitTail)}
         when k.status = 'arrondissement' then
           ${sqlText(`column ${opts.column}: code `)} || s.${col} || ${sqlText(` is an arrondissement municipal: the source has no figure at that level`)}
         when s.${col} is null then ${sqlText(`column ${opts.column}: no commune code`)}
         else ${sqlText(`column ${opts.column}: code `)} || s.${col} || ' is neither a commune of COG ' || $1::text || ' nor in its history' end as reason
       from ${t} s left join ${codes.qualified} k on k.code = s.${col}
      where (${where}) and (k.status is null or k.status in ('split', 'unknown', 'arrondissement'))`,
      [opts.cog],
    );
  }
  return { map: map.qualified, rejected };
}

/**
 * Current commune of every code a source may carry, whatever its vintage: communes and
 * arrondissements of the referential (an arrondissement → its commune), then codes of former
 * communes merged into exactly one current commune. A code split since maps nowhere.
 */
const CURRENT_COMMUNE_SQL = `select distinct on (code) code, code_actuel from (
    select c.code, case when c.type = 'arrondissement-municipal' then c.commune_parent else c.code end as code_actuel, 0 as prio
      from communes c where c.type in ('commune-actuelle', 'arrondissement-municipal')
    union all
    select r.code, r.code_actuel, 1 from (select code, code_actuel, count(*) over (partition by code) as nb from commune_correspondance) r where r.nb = 1
  ) x where code_actuel is not null order by code, prio`;

/**
 * The CURRENT_COMMUNE_SQL map in memory, for pipelines that re-code row by row in Node before
 * their COPY (the BAN, 26 M rows, whose files carry codes of any vintage).
 */
export async function currentCommuneLookup(db: Pool): Promise<Map<string, string>> {
  const { rows } = await db.query(CURRENT_COMMUNE_SQL);
  return new Map(rows.map((r) => [r.code as string, r.code_actuel as string]));
}

/**
 * The CURRENT_COMMUNE_SQL map as a work table of the run `(code, code_actuel)`, indexed, for
 * set-based re-coding of codes of no known vintage (IRIS codes). Returns its qualified name.
 */
export async function stageCurrentCommunes(ctx: RunContext): Promise<string> {
  const t = await ctx.scratch('current_communes', { code: 'text', code_actuel: 'text' });
  await ctx.db.query(`insert into ${t.qualified} (code, code_actuel) ${CURRENT_COMMUNE_SQL}`);
  await ctx.db.query(`create index on ${t.qualified} (code)`);
  await ctx.db.query(`analyze ${t.qualified}`);
  return t.qualified;
}
