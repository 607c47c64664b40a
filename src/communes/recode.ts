import type { RunContext } from '../engine/pipeline';

/**
 * Materialises `commune_passage(cog)` (every code valid in COG `cog` → its current commune(s))
 * into a staging table of the run, indexed, so set-based re-coding joins it once.
 * Columns: code, code_actuel, nature, nb (nb > 1: the commune was split since).
 */
export async function stagePassage(ctx: RunContext, cog: number): Promise<string> {
  const t = await ctx.staging(`passage_${cog}`, { code: 'text', code_actuel: 'text', nature: 'text', nb: 'int' });
  await ctx.db.query(`insert into ${t.qualified} select * from commune_passage($1::int)`, [cog]);
  await ctx.db.query(`create index on ${t.qualified} (code)`);
  await ctx.db.query(`analyze ${t.qualified}`);
  return t.qualified;
}

/**
 * Builds, for the distinct commune codes of a staging table, the rows each code is summed
 * into under the current COG (set-based, one pass):
 *  - an arrondissement municipal gives two targets: itself (type arrondissement-municipal)
 *    and its commune (Paris, Lyon, Marseille, type commune-actuelle);
 *  - a commune row of Paris/Lyon/Marseille is superseded when the file also has its
 *    arrondissements (the commune is their sum, never counted twice) — for aggregates; with
 *    `supersedePlm: false` (one row per object, e.g. equipments) it is kept as is;
 *  - any other code goes to its current commune through commune_passage(cog) (merged
 *    communes are summed; a split keeps the figure on the commune that kept the code).
 * Staged rows whose code leads nowhere are quarantined (with file, line, raw) and
 * `ctx.counters.loaded` is decremented. Returns the qualified name of the map table
 * (code, code_actuel, type, nb = count of codes summed into that target).
 *
 * The staging table must have columns `code`, `fichier`, `line`, `raw`.
 */
export async function stageCommuneMap(
  ctx: RunContext,
  stagings: string | string[],
  cog: number,
  column = 'code',
  opts: { supersedePlm?: boolean } = {},
): Promise<string> {
  const supersede = opts.supersedePlm ?? true;
  const tables = typeof stagings === 'string' ? [stagings] : stagings;
  const passage = await stagePassage(ctx, cog);
  const map = await ctx.staging(`map_${cog}`, { code: 'text', code_actuel: 'text', type: 'text', nb: 'int' });
  await ctx.db.query(
    `insert into ${map.qualified} (code, code_actuel, type)
     with codes as (select distinct code from (${tables.map((t) => `select code from ${t}`).join(' union all ')}) u),
          arm as (select c.code, c.commune_parent from communes c join codes using (code) where c.type = 'arrondissement-municipal')
     select code, code, 'arrondissement-municipal' from arm
     union all
     select code, commune_parent, 'commune-actuelle' from arm
     union all
     select p.code, p.code_actuel, 'commune-actuelle' from ${passage} p join codes using (code)
      where (p.nb = 1 or p.code_actuel = p.code)
        and not exists (select 1 from arm where arm.code = p.code${supersede ? ' or arm.commune_parent = p.code' : ''})`,
  );
  // nb = how many codes of the file are summed into the target: 1 lets callers skip the aggregation.
  await ctx.db
    .query(`update ${map.qualified} m set nb = x.n from (select code_actuel, type, count(*)::int as n from ${map.qualified} group by 1, 2) x
                       where x.code_actuel = m.code_actuel and x.type = m.type`);
  await ctx.db.query(`create index on ${map.qualified} (code)`);
  await ctx.db.query(`analyze ${map.qualified}`);
  for (const staging of tables) {
    const unknown = await ctx.quarantine.addFromSql(
      `select s.fichier as file, s.line, s.raw,
            'column ${column}: code ' || coalesce(s.code, '') || ' is neither a commune of COG ' || $1::text || ' nor in its history' as reason
       from ${staging} s
      where not exists (select 1 from ${map.qualified} m where m.code = s.code)
        ${
          supersede
            ? `and not exists (select 1 from communes c where c.type = 'arrondissement-municipal' and c.commune_parent = s.code
                         and exists (select 1 from ${map.qualified} a where a.code = c.code))`
            : ''
        }`,
      [cog],
    );
    ctx.counters.loaded -= unknown;
  }
  return map.qualified;
}
