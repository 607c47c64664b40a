import type { RunContext } from './pipeline';

/**
 * Quarantines the staged rows that repeat an earlier row's key (a commune given twice where a
 * file has one row per commune): the first row (in file, then line order) stays, each repeat
 * goes to the quarantine naming where the first one is, and leaves the staging table, so nothing
 * is summed twice or collapsed without a word. `keys` are staging columns; `where` narrows the
 * rows compared (SQL over alias `s`). Returns how many rows were rejected, and says so in the log.
 */
export async function rejectDuplicates(
  ctx: RunContext,
  staging: string,
  keys: string[],
  opts: { where?: string; what?: string } = {},
): Promise<number> {
  const k = keys.map((c) => `s."${c.replace(/"/g, '""')}"`);
  const where = opts.where ? `where ${opts.where}` : '';
  const ranked = `select s.fichier, s.line, s.raw, ${k.join(" || '/' || ")} as key,
                        row_number() over w as rank, first_value(s.fichier || ', line ' || s.line) over w as first
                   from ${staging} s ${where}
                 window w as (partition by ${k.join(', ')} order by s.fichier, s.line)`;
  const n = await ctx.rejectStaged(
    `select d.fichier as file, d.line, d.raw, 'duplicate of ' || d.first || ' (same ${opts.what ?? keys.join(', ')} ' || d.key || ')' as reason
       from (${ranked}) d where d.rank > 1`,
  );
  if (n) {
    await ctx.db.query(`delete from ${staging} t using (${ranked}) d where d.rank > 1 and t.fichier = d.fichier and t.line = d.line`);
    ctx.log(`${n} duplicate row(s) quarantined (the first of each kept; see dotation quarantine ${ctx.runId})`);
  }
  return n;
}
