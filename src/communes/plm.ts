import type { RunContext } from '../engine/pipeline';

/**
 * Paris, Lyon and Marseille in INSEE's long (Melodi) files: a COM row for the city and ARM rows
 * for its arrondissements, plus, in the état civil, one `751XX`/`693XX`/`132XX` row whose
 * arrondissement is not known. INSEE's COM row is the city's figure (the XX ones included);
 * the sum of the arrondissements stands in only where INSEE gives no COM row.
 *
 * Returns a work table `(code, commune)`: every arrondissement code of the staged rows (XX ones
 * included) with its city. Pipelines union `staging join it` as the city's rows where no row of
 * the city itself exists for the same key (see pipelines/etat-civil and pipelines/equipements).
 */
export async function stagePlmParents(ctx: RunContext, staging: string, name = 'plm'): Promise<string> {
  const plm = await ctx.scratch(name, { code: 'text', commune: 'text' });
  await ctx.db.query(
    `insert into ${plm.qualified} (code, commune)
     select distinct s.code, (select min(c.commune_parent) from communes c where c.type = 'arrondissement-municipal' and left(c.code, 3) = left(s.code, 3))
       from ${staging} s
      where s.code ~ '^[0-9]{3}XX$' or exists (select 1 from communes c where c.code = s.code and c.type = 'arrondissement-municipal')`,
  );
  return plm.qualified;
}
