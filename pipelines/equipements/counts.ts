import type { LocalFile, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { parseCount, INVALID } from '../../src/engine/csv';
import path from 'node:path';
import { isZip, readHead, zipEntries } from '../../src/engine/decode';
import { FormatError } from '../../src/engine/errors';
import { normalizeCommuneCode } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { stagePlmParents } from '../../src/communes/plm';

const STAGING = { code: 'text', typequ: 'text', annee: 'int', nombre: 'int', fichier: 'text', line: 'bigint', raw: 'text' };
const REQUIRED = ['GEO', 'GEO_OBJECT', 'FACILITY_TYPE', 'OBS_VALUE'] as const;
const TYPEQU = /^[A-G]\d{3}$/;
/** A total over types (`_T`) or over a domain or sub-domain (`D`, `D2`): not a count of its own. */
const AGGREGATE = /^(_T|[A-G]\d?)$/;

/**
 * INSEE's per-commune counts of the BPE, Melodi file `DS_BPE_<year>` (zip of `…_data.csv` and
 * `…_metadata.csv`, long: `GEO;GEO_OBJECT;FACILITY_DOM;FACILITY_SDOM;FACILITY_TYPE;BPE_MEASURE;
 * TIME_PERIOD;OBS_VALUE`, every geographic level in one file). Columns are found by name; only
 * COM and ARM rows of single equipment types (`D265`…) are counts of a commune; the others are
 * read and left (other levels, totals). Publishes `equipement_compte` for the file's year and
 * returns that year. Paris, Lyon, Marseille: INSEE's COM row, arrondissements kept apart.
 */
export async function loadCounts(ctx: RunContext, file: LocalFile): Promise<string> {
  const staging = await ctx.staging('bpe_communes', STAGING);
  const zipped = isZip(readHead(file.path));
  const entry = zipped ? (await zipEntries(file.path)).map((n) => n.split('/').pop()!).find((n) => /_data\.csv$/i.test(n)) : undefined;
  if (zipped && !entry)
    throw new FormatError(path.basename(file.path), 'no …_data.csv entry in the archive (a Melodi DS_BPE file holds one)');
  // Same name as loadCsv's label (archive!entry), so rows rejected in SQL read like the others.
  const label = entry ? `${path.basename(file.path)}!${entry}` : path.basename(file.path);
  let measureAt = -1;
  let yearAt = -1;
  let empty = 0;
  await loadCsv(ctx, {
    file,
    entry,
    encoding: 'auto',
    dialect: { delimiter: ';' },
    staging,
    required: REQUIRED,
    row: (get, line, values, header) => {
      if (line === 2) {
        measureAt = header.findIndex((h) => h.toUpperCase() === 'BPE_MEASURE');
        yearAt = header.findIndex((h) => h.toUpperCase() === 'TIME_PERIOD');
      }
      const obj = get('GEO_OBJECT').trim().toUpperCase();
      if (obj !== 'COM' && obj !== 'ARM') return null; // EPCI, DEP, BV2022…: read, not a commune
      if (measureAt >= 0 && values[measureAt].trim().toUpperCase() !== 'FACILITIES') return null; // another measure than the count
      const type = get('FACILITY_TYPE').trim().toUpperCase();
      if (AGGREGATE.test(type)) return null;
      if (!TYPEQU.test(type)) return reject(`not an equipment type: '${get('FACILITY_TYPE')}'`, 'FACILITY_TYPE');
      let code: string;
      try {
        code = normalizeCommuneCode(get('GEO'));
      } catch (e) {
        return reject((e as Error).message, 'GEO');
      }
      const y = yearAt >= 0 ? values[yearAt].trim() : '';
      if (yearAt >= 0 && !/^\d{4}$/.test(y)) return reject(`not a year: '${y}'`, 'TIME_PERIOD');
      const n = parseCount(get('OBS_VALUE'));
      if (n === INVALID || (typeof n === 'number' && n < 0)) return reject(`not a count: '${get('OBS_VALUE')}'`, 'OBS_VALUE');
      if (n === null) {
        empty++; // not published (secret or missing): unknown, never 0
        return null;
      }
      return { code, typequ: type, annee: y ? Number(y) : null, nombre: n, fichier: label, line, raw: values.join(';') };
    },
  });
  if (empty) ctx.log(`${label}: ${empty} count(s) without a value (not published), left out`);
  const {
    rows: [y],
  } = await ctx.db.query(`select max(annee)::text as an from ${staging.qualified}`);
  const millesime: string = y?.an ?? file.edition ?? ctx.source.millesime!;
  // One count per commune, type and year: a repeated row would be summed twice.
  await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw, 'duplicate count for ' || s.code || ' ' || s.typequ || ' (first at line ' || f.first || ')' as reason
       from ${staging.qualified} s
       join (select code, typequ, annee, min(line) as first from ${staging.qualified} group by 1, 2, 3 having count(*) > 1) f
         on f.code = s.code and f.typequ = s.typequ and f.annee is not distinct from s.annee and s.line > f.first`,
  );
  await ctx.db.query(`delete from ${staging.qualified} s using (select code, typequ, annee, min(line) as first from ${staging.qualified}
                        group by 1, 2, 3 having count(*) > 1) f
                       where f.code = s.code and f.typequ = s.typequ and f.annee is not distinct from s.annee and s.line > f.first`);
  ctx.checkpoint('after-staging');
  const cog = Number(millesime);
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'GEO',
    split: 'keep-on-code',
    splitReason: 'its equipments cannot be divided',
    plm: 'keep',
    overlap: 'keep-all',
  });
  const plm = await stagePlmParents(ctx, staging.qualified, 'plm_bpe');
  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from equipement_compte where millesime = $1`, [millesime]);
      const { rowCount } = await tx.query(
        `insert into equipement_compte (millesime, code_commune, type, typequ, nombre, codes_sources)
         with src as (
           select m.code_actuel, m.type, s.typequ, s.nombre, s.code from ${staging.qualified} s join ${map} m on m.code = s.code
           union all
           -- A city without its own COM row for that type: the sum of its arrondissements.
           select p.commune, 'commune-actuelle', s.typequ, s.nombre, s.code from ${staging.qualified} s join ${plm} p using (code)
            where not exists (select 1 from ${staging.qualified} x where x.code = p.commune and x.typequ = s.typequ))
         select $1, code_actuel, type, typequ, sum(nombre), array_agg(distinct code order by code) from src group by code_actuel, type, typequ`,
        [millesime],
      );
      return rowCount ?? 0;
    },
    { cog, fichier: label, comptes: 'DS_BPE' },
  );
  return millesime;
}
