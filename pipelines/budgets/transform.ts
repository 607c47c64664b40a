import type { RunContext } from '../../src/engine/pipeline';
import { recode } from '../../src/communes/recode';
import { CONSOLIDATED, DGFIP_LIBELLES } from './source';

/**
 * Staged code → current commune. Accounts of year N are in the geography of 1 January N; the
 * passage of the earliest year also maps later codes (current communes map to themselves).
 * A split commune keeps its figures on the commune that kept the code. Only a record's first
 * row carries `raw` (a DGFiP record is one row per agrégat): one quarantine row per record.
 */
async function mapping(ctx: RunContext, staging: string, cog: number, column: string): Promise<string> {
  const { map } = await recode(ctx, staging, {
    cog,
    column,
    split: 'keep-on-code',
    splitReason: 'its accounts cannot be divided',
    plm: 'reject',
    where: 's.raw is not null',
  });
  return map;
}

/** NULL when any summed part is unknown: a partial sum would pass for the commune's total. */
const strictSum = (col: string) => `case when count(*) filter (where ${col} is null) > 0 then null else sum(${col}) end`;

export async function publishOfgl(
  ctx: RunContext,
  staging: string,
  exercices: number[],
  fichier: string,
  codeColumn: string,
  /** COG year the file states (the consolidated export's labels: `Code Insee 2024 Commune`); else the first exercice's. */
  cog?: number,
): Promise<void> {
  if (!exercices.length) {
    ctx.log(`${fichier}: no row to publish`);
    return;
  }
  const map = await mapping(ctx, staging, cog ?? exercices[0], codeColumn);
  await ctx.publish(
    `ofgl-${exercices[exercices.length - 1]}`,
    async (tx) => {
      await tx.query(`delete from budget_ofgl where exercice = any($1::int[])`, [exercices]);
      const { rowCount } = await tx.query(
        `with m as (select k.code_actuel, s.* from ${staging} s join ${map} k on k.code = s.code),
            -- population: once per SIREN (its budget principal), summed over the SIRENs of the commune
            pop as (select code_actuel, exercice, sum(ptot) as population
                      from (select code_actuel, exercice, siren, max(ptot) as ptot from m
                             where type_budget ilike 'budget principal%' or type_budget = $1 group by 1, 2, 3) x
                     group by 1, 2)
       insert into budget_ofgl (exercice, code_commune, type_budget, agregat, montant, population, sirens, codes_sources, fichier)
       select m.exercice, m.code_actuel, m.type_budget, m.agregat, ${strictSum('m.montant')}, pop.population,
              array_agg(distinct m.siren order by m.siren), array_agg(distinct m.code order by m.code), min(m.fichier)
         from m left join pop on pop.code_actuel = m.code_actuel and pop.exercice = m.exercice
        group by m.exercice, m.code_actuel, m.type_budget, m.agregat, pop.population`,
        [CONSOLIDATED],
      );
      return rowCount ?? 0;
    },
    { producteur: 'OFGL', fichier, exercices, ...(cog ? { cog } : {}) },
  );
}

export async function publishDgfip(ctx: RunContext, staging: string, exercices: number[], fichier: string): Promise<void> {
  if (!exercices.length) {
    ctx.log(`${fichier}: no row to publish`);
    return;
  }
  const map = await mapping(ctx, staging, exercices[0], 'dep + icom');
  await ctx.publish(
    `dgfip-${exercices[exercices.length - 1]}`,
    async (tx) => {
      await tx.query(`delete from budget_dgfip where exercice = any($1::int[])`, [exercices]);
      const { rowCount } = await tx.query(
        `with m as (select k.code_actuel, s.* from ${staging} s join ${map} k on k.code = s.code),
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
