import type { RunContext } from '../engine/pipeline';

/**
 * Postcodes → communes, for files that give a postcode where a code INSEE is missing (a siège of
 * an association, the place of a public contract). A postcode is many-to-many with communes: only
 * a postcode that exactly one commune has (an arrondissement municipal rather than its city) places
 * a row. Returns a work table of the run `(code_postal, code, nb)`: `code` is meaningful when
 * `nb = 1`; `nb` says how many communes share the postcode.
 */
export async function stagePostcodes(ctx: RunContext): Promise<string> {
  const cp = await ctx.scratch('code_postal', { code_postal: 'text', code: 'text', nb: 'int' });
  await ctx.db.query(
    `insert into ${cp.qualified} (code_postal, code, nb)
     with cp as (select unnest(codes_postaux) as code_postal, code, type from communes where type in ('commune-actuelle', 'arrondissement-municipal')),
          sans_ville as (select x.* from cp x where not (x.type = 'commune-actuelle'
                           and exists (select 1 from cp y join communes a on a.code = y.code and a.type = 'arrondissement-municipal'
                                        where y.code_postal = x.code_postal and a.commune_parent = x.code)))
     select code_postal, min(code), count(distinct code) from sans_ville group by code_postal`,
  );
  await ctx.db.query(`create index on ${cp.qualified} (code_postal)`);
  await ctx.db.query(`analyze ${cp.qualified}`);
  return cp.qualified;
}
