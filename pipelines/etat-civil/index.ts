import type { Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { parseCount, INVALID } from '../../src/engine/csv';
import { isZip, zipEntries } from '../../src/engine/decode';
import { normalizeCommuneCode } from '../../src/communes/codes';
import path from 'node:path';
import { recode } from '../../src/communes/recode';
import { readHead as head } from '../../src/engine/decode';
import { source } from './source';
import { pack } from './pack';

const STAGING = { code: 'text', mesure: 'text', annee: 'int', valeur: 'int', fichier: 'text', line: 'bigint', raw: 'text' };
const COLUMNS = ['EC_MEASURE', 'GEO', 'GEO_OBJECT', 'TIME_PERIOD', 'OBS_VALUE'] as const;
const FIRST_YEAR = 2008;
const MEASURES = [
  ['naissances', 'LVB'],
  ['deces', 'DTH'],
] as const;

async function load(ctx: RunContext): Promise<void> {
  const staging = await ctx.staging('ec', STAGING);
  let lastYear = 0;
  // Births and deaths are independent files: `--file` may bring one alone.
  const present = MEASURES.filter(([resource]) => ctx.files.has(resource));
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
        try {
          code = normalizeCommuneCode(get('GEO'));
        } catch (e) {
          return reject((e as Error).message, 'GEO');
        }
        const y = get('TIME_PERIOD').trim();
        if (!/^\d{4}$/.test(y) || Number(y) < FIRST_YEAR) return reject(`not a year since ${FIRST_YEAR}: '${y}'`, 'TIME_PERIOD');
        const v = parseCount(get('OBS_VALUE'));
        if (v === INVALID || (typeof v === 'number' && v < 0)) return reject(`not a count: '${get('OBS_VALUE')}'`, 'OBS_VALUE');
        if (Number(y) > lastYear) lastYear = Number(y);
        return [code, measure, Number(y), v, fichier, line, values.join(';')];
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
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'GEO',
    split: 'keep-on-code',
    splitReason: 'its births and deaths cannot be divided',
    plm: 'both',
    overlap: 'prefer-arrondissements',
  });
  ctx.log('communes mapped');
  const both = present.length === MEASURES.length;
  const column = (m: 'LVB' | 'DTH') =>
    `case when count(*) filter (where s.mesure = '${m}') = count(s.valeur) filter (where s.mesure = '${m}') then sum(s.valeur) filter (where s.mesure = '${m}') end`;
  const select = `select $1, m.code_actuel, m.type, s.annee, ${column('LVB')}, ${column('DTH')}, array_agg(distinct s.code order by s.code)
         from ${staging.qualified} s join ${map} m on m.code = s.code
        group by m.code_actuel, m.type, s.annee`;
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
    { cog, ...(both ? {} : { seul: present[0][0] }) },
  );
}

export const pipeline: Pipeline = { source, order: 110, load, pack };
