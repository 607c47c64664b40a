import type { RunContext } from '../../src/engine/pipeline';
import { recode } from '../../src/communes/recode';

/**
 * Publishes every millésime staged, each in one transaction: wide rows are unnested against
 * the variables parsed once from the header (position in vals = position in vars), long rows pass through; both are re-coded
 * to the current COG and summed per current commune. A sum where one part is unknown (NULL,
 * secret) stays NULL: never a partial figure, never 0.
 */
export async function publishRecensement(ctx: RunContext, t: { wide: string; vars: string; long: string }, cog: number): Promise<void> {
  // A code twice in the same file (or twice for the same variable and year) would be summed twice: quarantined.
  const dupWide = await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw, 'duplicate row for ' || s.code || ' (first at line ' || f.first || ')' as reason
       from ${t.wide} s join (select fichier, code, min(line) as first from ${t.wide} group by 1, 2 having count(*) > 1) f
         on f.fichier = s.fichier and f.code = s.code and s.line > f.first`,
  );
  const dupLong = await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw, 'duplicate row for ' || s.code || ' ' || s.variable || ' ' || s.annee || ' (first at line ' || f.first || ')' as reason
       from ${t.long} s join (select fichier, code, variable, annee, min(line) as first from ${t.long} group by 1, 2, 3, 4 having count(*) > 1) f
         on f.fichier = s.fichier and f.code = s.code and f.variable = s.variable and f.annee = s.annee and s.line > f.first`,
  );
  if (dupWide)
    await ctx.db
      .query(`delete from ${t.wide} s using (select fichier, code, min(line) as first from ${t.wide} group by 1, 2 having count(*) > 1) f
                                    where f.fichier = s.fichier and f.code = s.code and s.line > f.first`);
  if (dupLong)
    await ctx.db
      .query(`delete from ${t.long} s using (select fichier, code, variable, annee, min(line) as first from ${t.long} group by 1, 2, 3, 4 having count(*) > 1) f
                                    where f.fichier = s.fichier and f.code = s.code and f.variable = s.variable and f.annee = s.annee and s.line > f.first`);
  const { map } = await recode(ctx, [t.wide, t.long], {
    cog,
    column: 'CODGEO/GEO',
    split: 'keep-on-code',
    splitReason: 'its census figures cannot be divided',
    plm: 'both',
    overlap: 'prefer-arrondissements',
  });
  const { rows } = await ctx.db.query(`select millesime from ${t.vars} union select millesime from ${t.long} order by 1`);
  for (const table of [t.wide, t.vars, t.long]) await ctx.db.query(`analyze ${table}`);
  ctx.log('communes mapped');
  for (const { millesime } of rows as { millesime: string }[]) {
    await ctx.publish(
      millesime,
      async (tx) => {
        await tx.query(`delete from recensement_valeur where millesime = $1`, [millesime]);
        await tx.query(`delete from recensement_commune where millesime = $1`, [millesime]);
        await tx.query(`delete from recensement_variable where millesime = $1`, [millesime]);
        await tx.query(`set local work_mem = '128MB'`);
        // Each record's numeric[] is unnested once (WITH ORDINALITY) and matched to the header
        // variables by position (a subscript per variable would detoast the array each time).
        // Targets fed by one code only (nearly all) skip the aggregation.
        const a = await tx.query(
          `insert into recensement_valeur (millesime, code_commune, type, variable, annee, valeur)
         select $1, m.code_actuel, m.type, v.variable, v.annee, u.val
           from ${t.wide} s
           join ${map} m on m.code = s.code and m.nb = 1
           cross join lateral unnest(s.vals) with ordinality as u(val, idx)
           join ${t.vars} v on v.fichier = s.fichier and v.idx = u.idx and v.millesime = $1
         union all
         select $1, m.code_actuel, m.type, v.variable, min(v.annee),
                case when count(*) = count(u.val) then sum(u.val) end
           from ${t.wide} s
           join ${map} m on m.code = s.code and m.nb > 1
           cross join lateral unnest(s.vals) with ordinality as u(val, idx)
           join ${t.vars} v on v.fichier = s.fichier and v.idx = u.idx and v.millesime = $1
          group by m.code_actuel, m.type, v.variable`,
          [millesime],
        );
        const b = await tx.query(
          `insert into recensement_valeur (millesime, code_commune, type, variable, annee, valeur)
         select $1, m.code_actuel, m.type, s.variable, s.annee,
                case when count(*) = count(s.valeur) then sum(s.valeur) end
           from ${t.long} s join ${map} m on m.code = s.code
          where s.millesime = $1
          group by m.code_actuel, m.type, s.variable, s.annee`,
          [millesime],
        );
        ctx.log(`${a.rowCount} + ${b.rowCount} values inserted`);
        await tx.query(
          `insert into recensement_commune (millesime, code_commune, type, codes_sources)
         select $1, m.code_actuel, m.type, array_agg(distinct m.code order by m.code)
           from ${map} m
          where m.code in (select s.code from ${t.wide} s join ${t.vars} v on v.fichier = s.fichier and v.idx = 1 and v.millesime = $1
                           union select l.code from ${t.long} l where l.millesime = $1)
          group by m.code_actuel, m.type`,
          [millesime],
        );
        await tx.query(
          `insert into recensement_variable (millesime, variable, libelle, fichier)
         select distinct on (variable) $1, variable, libelle, fichier from (
           select variable, libelle, fichier from ${t.vars} where millesime = $1
           union all select distinct variable, libelle, fichier from ${t.long} where millesime = $1) x
          order by variable, libelle nulls last`,
          [millesime],
        );
        return (a.rowCount ?? 0) + (b.rowCount ?? 0);
      },
      { cog },
    );
  }
}
