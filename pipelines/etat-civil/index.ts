import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { parseCount, INVALID } from '../../src/engine/csv';
import { isZip, zipEntries } from '../../src/engine/decode';
import { normalizeCommuneCode } from '../../src/communes/codes';
import path from 'node:path';
import { recode } from '../../src/communes/recode';
import { stagePlmParents } from '../../src/communes/plm';
import { readHead as head } from '../../src/engine/decode';
import { MissingResourceError } from '../../src/engine/errors';
import { source } from './source';
import { pack } from './pack';

const STAGING = { code: 'text', mesure: 'text', annee: 'int', valeur: 'int', fichier: 'text', line: 'bigint', raw: 'text' };
const COLUMNS = ['EC_MEASURE', 'GEO', 'GEO_OBJECT', 'TIME_PERIOD', 'OBS_VALUE'] as const;
const FIRST_YEAR = 2008;
const MEASURES = [
  ['naissances', 'LVB'],
  ['deces', 'DTH'],
] as const;
/** An arrondissement municipal INSEE could not determine: the commune's 3 first characters + `XX`. */
const UNDETERMINED_ARM = /^\d{3}XX$/;

async function load(ctx: RunContext): Promise<void> {
  const staging = await ctx.staging('ec', STAGING);
  let lastYear = 0;
  // Births and deaths are independent files: `--file` or the mirror may bring one alone (no genuine deaths file was seen).
  const present = MEASURES.filter(([resource]) => ctx.files.has(resource));
  if (!present.length)
    throw new MissingResourceError(
      'etat-civil: neither a births file (DS_ETAT_CIVIL_NAIS_COMMUNES…) nor a deaths file (DS_ETAT_CIVIL_DECES_COMMUNES…) was found (MIRROR_DIR, download or --file)',
    );
  for (const [resource, measure] of present) {
    const file = ctx.files.get(resource)!;
    const zipped = isZip(head(file.path));
    const entry = zipped
      ? ((await zipEntries(file.path)).map((n) => n.split('/').pop()!).find((n) => /_data\.csv$/i.test(n)) ?? /_data\.csv$/i)
      : undefined;
    // Same name as loadCsv's label (archive!entry), so SQL-side quarantine rows read alike.
    const fichier = zipped && typeof entry === 'string' ? `${path.basename(file.path)}!${entry}` : path.basename(file.path);
    await loadCsv(ctx, {
      file,
      entry,
      encoding: 'auto',
      dialect: { delimiter: ';' },
      staging,
      required: COLUMNS,
      row: (get, line, values) => {
        const obj = get('GEO_OBJECT').trim().toUpperCase();
        if (obj !== 'COM' && obj !== 'ARM') return null; // département, France…: accepted, not kept (aggregates only)
        const m = get('EC_MEASURE').trim().toUpperCase();
        if (m !== measure) return reject(`expected ${measure} in this file, got '${get('EC_MEASURE')}'`, 'EC_MEASURE');
        let code: string;
        const geo = get('GEO').trim().toUpperCase();
        // `751XX`, `693XX`, `132XX`: births in Paris, Lyon, Marseille whose arrondissement is not
        // known. INSEE counts them in the city's COM row: kept, never quarantined (see publish).
        if (obj === 'ARM' && UNDETERMINED_ARM.test(geo)) code = geo;
        else
          try {
            code = normalizeCommuneCode(geo);
          } catch (e) {
            return reject((e as Error).message, 'GEO');
          }
        const y = get('TIME_PERIOD').trim();
        if (!/^\d{4}$/.test(y) || Number(y) < FIRST_YEAR) return reject(`not a year since ${FIRST_YEAR}: '${y}'`, 'TIME_PERIOD');
        const v = parseCount(get('OBS_VALUE'));
        if (v === INVALID || (typeof v === 'number' && v < 0)) return reject(`not a count: '${get('OBS_VALUE')}'`, 'OBS_VALUE');
        if (Number(y) > lastYear) lastYear = Number(y);
        return { code, mesure: measure, annee: Number(y), valeur: v, fichier, line, raw: values.join(';') };
      },
    });
  }
  ctx.log(`staged ${ctx.counters.loaded} rows`);
  const millesime = lastYear ? String(lastYear) : ctx.source.millesime!;
  ctx.setMillesime(millesime);
  ctx.checkpoint('after-staging');
  // Duplicates (same code, measure, year twice) would be summed twice: quarantine the repeats.
  const dup = await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw, 'duplicate row for ' || s.code || ' ' || s.mesure || ' ' || s.annee || ' (first at line ' || f.first || ')' as reason
       from ${staging.qualified} s
       join (select code, mesure, annee, min(line) as first from ${staging.qualified} group by 1, 2, 3 having count(*) > 1) f
         on f.code = s.code and f.mesure = s.mesure and f.annee = s.annee and s.line > f.first`,
  );
  if (dup)
    await ctx.db
      .query(`delete from ${staging.qualified} s using (select code, mesure, annee, min(line) as first from ${staging.qualified} group by 1, 2, 3 having count(*) > 1) f
                               where f.code = s.code and f.mesure = s.mesure and f.annee = s.annee and s.line > f.first`);
  ctx.log('duplicates checked');
  const cog = Number(millesime) + 1;
  // Paris, Lyon and Marseille: INSEE gives the city (COM row) and its arrondissements (ARM rows,
  // plus one `XX` row of births whose arrondissement is not known). The arrondissements keep
  // their own rows; the city's figure is INSEE's COM row (it includes the XX births), never the
  // sum of the arrondissements, which would miss them.
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'GEO',
    split: 'keep-on-code',
    splitReason: 'its births and deaths cannot be divided',
    plm: 'keep',
    overlap: 'keep-all',
    where: `s.code !~ 'XX$'`,
  });
  ctx.log('communes mapped');
  // The parent city of each arrondissement row (XX included), for the fallback and the check below.
  const plm = await stagePlmParents(ctx, staging.qualified);
  // INSEE's city row against the sum of its arrondissements (XX included): reported, not corrected.
  const { rows: ecarts } = await ctx.db.query(
    `select a.commune, a.mesure, a.annee, a.somme, x.valeur as commune_valeur
       from (select p.commune, s.mesure, s.annee, sum(s.valeur)::int as somme from ${staging.qualified} s join ${plm} p using (code) group by 1, 2, 3) a
       join ${staging.qualified} x on x.code = a.commune and x.mesure = a.mesure and x.annee = a.annee
      where x.valeur is distinct from a.somme order by 1, 2, 3`,
  );
  if (ecarts.length)
    ctx.log(`${ecarts.length} city-year(s) where INSEE's COM row differs from the sum of its arrondissements: the COM row is published`);
  const both = present.length === MEASURES.length;
  const column = (m: 'LVB' | 'DTH') =>
    `case when count(*) filter (where mesure = '${m}') = count(valeur) filter (where mesure = '${m}') then sum(valeur) filter (where mesure = '${m}') end`;
  const select = `with src as (
         select m.code_actuel, m.type, s.annee, s.mesure, s.valeur, s.code
           from ${staging.qualified} s join ${map} m on m.code = s.code
         union all
         -- A city without its own row for that measure and year: the sum of its arrondissements, XX included.
         select p.commune, 'commune-actuelle', s.annee, s.mesure, s.valeur, s.code
           from ${staging.qualified} s join ${plm} p using (code)
          where not exists (select 1 from ${staging.qualified} x where x.code = p.commune and x.annee = s.annee and x.mesure = s.mesure))
       select $1, code_actuel, type, annee, ${column('LVB')}, ${column('DTH')}, array_agg(distinct code order by code)
         from src
        group by code_actuel, type, annee`;
  // A measure with no value in the edition once published (births alone, as in ../shared/data/real): the pack says so.
  const absents: string[] = [];
  if (!both) {
    const other = present[0][0] === 'naissances' ? 'deces' : 'naissances';
    const { rows } = await ctx.db.query(`select 1 from etat_civil where millesime = $1 and ${other} is not null limit 1`, [millesime]);
    if (!rows.length) absents.push(other);
  }
  await ctx.publish(
    millesime,
    async (tx) => {
      if (both) {
        await tx.query(`delete from etat_civil where millesime = $1`, [millesime]);
        const { rowCount } = await tx.query(
          `insert into etat_civil (millesime, code_commune, type, annee, naissances, deces, codes_sources) ${select}`,
          [millesime],
        );
        return rowCount ?? 0;
      }
      // One measure alone: its column is replaced, the other measure's stays as published.
      const col = present[0][0];
      await tx.query(`update etat_civil set ${col} = null where millesime = $1`, [millesime]);
      const { rowCount } = await tx.query(
        `insert into etat_civil (millesime, code_commune, type, annee, naissances, deces, codes_sources) ${select}
         on conflict (millesime, code_commune, annee) do update set ${col} = excluded.${col},
           codes_sources = array(select distinct c from unnest(etat_civil.codes_sources || excluded.codes_sources) c order by c)`,
        [millesime],
      );
      return rowCount ?? 0;
    },
    {
      cog,
      ...(both ? {} : { seul: present[0][0] }),
      ...(absents.length ? { absents } : {}),
      ...(ecarts.length ? { ecarts_plm: ecarts } : {}),
    },
  );
}

export const pipeline: Pipeline = { source, order: 110, load, pack };
