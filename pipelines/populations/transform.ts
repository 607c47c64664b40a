import type { Pool } from 'pg';
import type { RunContext } from '../../src/engine/pipeline';
import { recode } from '../../src/communes/recode';
import { rejectDuplicates } from '../../src/engine/duplicates';

/**
 * Re-codes staged rows to the current COG (src/communes/recode.ts) and publishes them in one
 * transaction: communes merged since the file's COG are summed under their commune nouvelle, a
 * split commune keeps its figure on the commune that kept the code (quarantined when none did),
 * arrondissements municipaux are kept as their own rows and summed into Paris, Lyon and Marseille.
 * Only the population municipale is summed: INSEE warns that the population comptée à part (and so
 * the totale) must not be added across communes, so a row made of several codes leaves both empty.
 */
export async function publishPopulations(
  ctx: RunContext,
  staging: string,
  millesime: string,
  cog: number,
  details: Record<string, unknown> = {},
): Promise<void> {
  // One row per commune and file: a repeated code would be summed twice.
  await rejectDuplicates(ctx, staging, ['code'], { what: 'commune code' });
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'CODCOM',
    split: 'keep-on-code',
    splitReason: 'its population cannot be divided',
    plm: 'both',
    overlap: 'prefer-arrondissements',
  });

  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from population_legale where millesime = $1`, [millesime]);
      const { rowCount } = await tx.query(
        `insert into population_legale (millesime, code_commune, type, pmun, pcap, ptot, codes_sources, fichier, annee_recensement)
       select $1, m.code_actuel, m.type, sum(s.pmun),
              case when count(*) = 1 then sum(s.pcap) end, case when count(*) = 1 then sum(s.ptot) end, array_agg(s.code order by s.code), min(s.fichier),
              min(s.annee_recensement)
         from ${staging} s join ${map} m on m.code = s.code
        group by m.code_actuel, m.type`,
        [millesime],
      );
      return rowCount ?? 0;
    },
    { cog, ...details },
  );
  const missing = await explainMissingPopulations(ctx.db, millesime);
  if (missing.length)
    ctx.log(
      `${missing.length} commune(s) actuelle(s) without a population in millésime ${millesime} (see dotation populations:manquantes)`,
    );
}

export interface MissingPopulation {
  code: string;
  nom: string;
  raison: string;
}

/** Every commune actuelle without a population for the millésime, and why. */
export async function explainMissingPopulations(db: Pool, millesime: string): Promise<MissingPopulation[]> {
  const {
    rows: [meta],
  } = await db.query(`select details from published_datasets where source = 'populations' and millesime = $1`, [millesime]);
  const cog: number = meta?.details?.cog ?? Number(millesime) + 2;
  const { rows } = await db.query(
    `select c.code, c.nom, c.zone, c.departement,
            (select m.mod || '|' || m.date_eff || '|' || string_agg(distinct m.com_av, ',')
               from cog_mouvements m
              where m.com_ap = c.code and m.typecom_ap = 'COM' and m.date_eff > make_date($2::int, 1, 1) and m.com_av <> m.com_ap
              group by m.mod, m.date_eff order by m.date_eff desc limit 1) as mouvement,
            exists (select 1 from population_legale p where p.millesime = $1 and p.code_commune like '976%') as mayotte_chargee,
            (select max(cog) from cog_communes_insee) as cog_insee,
            exists (select 1 from cog_communes_insee i where i.cog = (select max(cog) from cog_communes_insee) and i.com = c.code and i.typecom = 'COM') as dans_cog_insee
       from communes c
      where c.type = 'commune-actuelle'
        and not exists (select 1 from population_legale p where p.millesime = $1 and p.code_commune = c.code)
      order by c.code`,
    [millesime, cog],
  );
  const MOD: Record<string, string> = {
    '20': 'création',
    '21': 'rétablissement (scission)',
    '30': 'suppression',
    '31': 'fusion simple',
    '32': 'création de commune nouvelle',
    '33': 'fusion-association',
    '34': 'transformation de fusion-association en fusion simple',
    '41': 'changement de code dû à un changement de département',
  };
  return rows.map((r) => {
    let raison: string;
    if (r.zone === 'com')
      raison =
        "collectivité d'outre-mer : hors du champ des populations légales publiées par l'INSEE pour la France métropolitaine et les DROM";
    else if (r.departement === '976' && !r.mayotte_chargee)
      raison = 'Mayotte : la population légale est publiée dans un fichier séparé, absent de ce chargement';
    else if (r.mouvement) {
      const [mod, date, from] = String(r.mouvement).split('|');
      raison = `commune issue d'un(e) ${MOD[mod] ?? `mouvement ${mod}`} le ${date} (à partir de ${from}), après la géographie du millésime (COG ${cog}) : sa population paraîtra dans un prochain millésime`;
    } else if (r.cog_insee && !r.dans_cog_insee) {
      raison = `commune créée ou rétablie après le COG ${r.cog_insee} de l'INSEE (le plus récent chargé), donc après la géographie du millésime : sa population paraîtra dans un prochain millésime`;
    } else raison = `absente du fichier de l'INSEE du millésime ${millesime} et d'aucun mouvement connu du COG : à vérifier`;
    return { code: r.code, nom: r.nom, raison };
  });
}
