import type { RunContext } from '../../src/engine/pipeline';
import { recode } from '../../src/communes/recode';
import { scrutinEdition, type Scrutin } from './source';

/**
 * Re-codes one scrutin to the current COG and publishes it in one transaction. Communes merged
 * since the vote are summed under their commune nouvelle (counts, and votes per national
 * candidate or list; a local scrutin's lists stay per former commune); percentages are
 * recomputed from the sums, never averaged. An arrondissement municipal
 * (bureau-level files) is rolled up into Paris, Lyon or Marseille.
 */
export async function publishScrutin(ctx: RunContext, staging: string, s: Scrutin, fichier: string): Promise<void> {
  await ctx.db.query(`create index on ${staging} (code)`);
  await ctx.db.query(`analyze ${staging}`);
  // Only a record's `r` row is checked: its candidate rows share its code and line.
  const { map } = await recode(ctx, staging, {
    cog: s.cog,
    column: 'Code de la commune',
    split: 'keep-on-code',
    splitReason: 'its votes cannot be divided',
    plm: 'roll-up',
    overlap: 'keep-all',
    where: `s.kind = 'r'`,
  });

  // The file's own "% Voix/exprimés" (decimal comma, trailing %) against the same ratio from its counts:
  // a check of the parsing, logged and recorded; the published percentages are always recomputed.
  const {
    rows: [chk],
  } = await ctx.db.query(
    `select count(*)::int as n,
            count(*) filter (where abs(c.pct_exp_fichier - round(100.0 * c.voix / nullif(r.exprimes, 0), 2)) > 0.011)::int as ecarts
       from ${staging} c join ${staging} r on r.kind = 'r' and r.line = c.line
      where c.kind = 'c' and c.pct_exp_fichier is not null and c.voix is not null and r.exprimes > 0`,
  );
  if (chk.ecarts) ctx.log(`${chk.ecarts} of ${chk.n} '% Voix/exprimés' of ${fichier} differ from voix / exprimés by more than 0.01`);

  await ctx.publish(
    scrutinEdition(s),
    async (tx) => {
      await tx.query(`set local work_mem = '128MB'`); // the national group-by of ≈ 1.3 M list rows stays in memory
      await tx.query(`delete from election_voix where election = $1 and tour = $2`, [s.election, s.tour]);
      await tx.query(`delete from election_resultat where election = $1 and tour = $2`, [s.election, s.tour]);
      const { rowCount } = await tx.query(
        `insert into election_resultat (election, tour, code_commune, inscrits, votants, abstentions, blancs, nuls, exprimes, codes_sources, fichier)
       select $1, $2, m.code_actuel, sum(s.inscrits), sum(s.votants), sum(s.abstentions), sum(s.blancs), sum(s.nuls), sum(s.exprimes),
              array_agg(s.code order by s.code), min(s.fichier)
         from ${staging} s join ${map} m on m.code = s.code
        where s.kind = 'r'
        group by m.code_actuel`,
        [s.election, s.tour],
      );
      // A national candidate's votes are summed over the communes merged since; a local scrutin's
      // lists stay those of the commune that voted (commune_scrutin), with its own percentages.
      const voter = s.local ? 's.code' : 'm.code_actuel';
      await tx.query(
        `insert into election_voix (election, tour, code_commune, commune_scrutin, panneau, sexe, nom, prenom, libelle, nuance, voix, pct_voix_inscrits, pct_voix_exprimes)
       select $1, $2, v.code_actuel, v.votant, v.panneau, v.sexe, v.nom, v.prenom, v.libelle, v.nuance, v.voix,
              round(100.0 * v.voix / nullif(r.inscrits, 0), 2), round(100.0 * v.voix / nullif(r.exprimes, 0), 2)
         from (select m.code_actuel, ${voter} as votant, s.panneau, min(s.sexe) as sexe, s.nom, s.prenom, s.libelle, min(s.nuance) as nuance, sum(s.voix) as voix
                 from ${staging} s join ${map} m on m.code = s.code
                where s.kind = 'c'
                group by 1, 2, s.panneau, s.nom, s.prenom, s.libelle) v
         join (select m.code_actuel, ${voter} as votant, sum(s.inscrits) as inscrits, sum(s.exprimes) as exprimes
                 from ${staging} s join ${map} m on m.code = s.code
                where s.kind = 'r'
                group by 1, 2) r on r.code_actuel = v.code_actuel and r.votant = v.votant`,
        [s.election, s.tour],
      );
      return rowCount ?? 0;
    },
    {
      election: s.election,
      tour: s.tour,
      cog: s.cog,
      fichier,
      titre: s.titre,
      licence: s.licence,
      lignes_comparees: chk.n,
      ecarts_pourcentages: chk.ecarts,
    },
  );
}
