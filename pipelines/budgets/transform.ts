import type { RunContext } from '../../src/engine/pipeline';
import { stagePassage } from '../../src/communes/recode';
import { DGFIP_LIBELLES } from './source';

/**
 * Staged code → current commune. Accounts of year N are in the geography of 1 January N; the
 * passage of the earliest year also maps later codes (current communes map to themselves).
 * A split commune keeps its figures on the commune that kept the code.
 */
async function mapping(ctx: RunContext, staging: string, cog: number, label: string): Promise<string> {
  const passage = await stagePassage(ctx, cog);
  const unknown = await ctx.quarantine.addFromSql(
    `select s.fichier as file, s.line, s.raw, 'commune code ' || s.code || ' is neither a commune of COG ' || $1::text || ' nor in its history (${label})' as reason
       from ${staging} s
      where s.raw is not null and not exists (select 1 from ${passage} p where p.code = s.code)`,
    [cog],
  );
  ctx.counters.loaded -= unknown;
  return passage;
}

/** NULL when any summed part is unknown: a partial sum would pass for the commune's total. */
const strictSum = (col: string) => `case when count(*) filter (where ${col} is null) > 0 then null else sum(${col}) end`;

export async function publishOfgl(ctx: RunContext, staging: string, exercices: number[], fichier: string): Promise<void> {
  if (!exercices.length) {
    ctx.log(`${fichier}: no row to publish`);
    return;
  }
  const passage = await mapping(ctx, staging, exercices[0], 'OFGL com_code');
  await ctx.publish(
    `ofgl-${exercices[exercices.length - 1]}`,
    async (tx) => {
      await tx.query(`delete from budget_ofgl where exercice = any($1::int[])`, [exercices]);
      const { rowCount } = await tx.query(
        `with m as (select p.code_actuel, s.* from ${staging} s join ${passage} p on p.code = s.code where p.nb = 1 or p.code_actuel = s.code),
            -- population: once per SIREN (its budget principal), summed over the SIRENs of the commune
            pop as (select code_actuel, exercice, sum(ptot) as population
                      from (select code_actuel, exercice, siren, max(ptot) as ptot from m
                             where type_budget ilike 'budget principal%' group by 1, 2, 3) x
                     group by 1, 2)
       insert into budget_ofgl (exercice, code_commune, type_budget, agregat, montant, population, sirens, codes_sources, fichier)
       select m.exercice, m.code_actuel, m.type_budget, m.agregat, ${strictSum('m.montant')}, pop.population,
              array_agg(distinct m.siren order by m.siren), array_agg(distinct m.code order by m.code), min(m.fichier)
         from m left join pop on pop.code_actuel = m.code_actuel and pop.exercice = m.exercice
        group by m.exercice, m.code_actuel, m.type_budget, m.agregat, pop.population`,
      );
      return rowCount ?? 0;
    },
    { producteur: 'OFGL', fichier, exercices },
  );
}

export async function publishDgfip(ctx: RunContext, staging: string, exercices: number[], fichier: string): Promise<void> {
  if (!exercices.length) {
    ctx.log(`${fichier}: no row to publish`);
    return;
  }
  const passage = await mapping(ctx, staging, exercices[0], 'DGFiP dep + icom');
  await ctx.publish(
    `dgfip-${exercices[exercices.length - 1]}`,
    async (tx) => {
      await tx.query(`delete from budget_dgfip where exercice = any($1::int[])`, [exercices]);
      const { rowCount } = await tx.query(
        `with m as (select p.code_actuel, s.* from ${staging} s join ${passage} p on p.code = s.code where p.nb = 1 or p.code_actuel = s.code),
            lib as (select * from jsonb_each_text($1::jsonb) as l(agregat, libelle))
       insert into budget_dgfip (exercice, code_commune, agregat, libelle, montant, population, codes_sources, fichier)
       select m.exercice, m.code_actuel, m.agregat, min(lib.libelle), ${strictSum('m.montant_keur')} * 1000, ${strictSum('m.pop')},
              array_agg(distinct m.code order by m.code), min(m.fichier)
         from m left join lib on lib.agregat = m.agregat
        group by m.exercice, m.code_actuel, m.agregat`,
        [JSON.stringify(DGFIP_LIBELLES)],
      );
      return rowCount ?? 0;
    },
    { producteur: 'DGFiP', fichier, exercices, unite_fichier: 'k€' },
  );
}
