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
