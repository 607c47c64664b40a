import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { isZip, openText } from '../../src/engine/decode';
import { readCsv, requireColumns, parseDecimal, INVALID } from '../../src/engine/csv';
import { normalizeCommuneCode, departementOf } from '../../src/communes/codes';
import type { StagingRow } from '../../src/engine/staging';
import { recode } from '../../src/communes/recode';
import { readHead as head } from '../../src/engine/decode';
import { source } from './source';
import { loadCounts } from './counts';
import { MissingResourceError } from '../../src/engine/errors';
import { pack } from './pack';

const STAGING = {
  code: 'text',
  typequ: 'text',
  an: 'text',
  dciris: 'text',
  qualite: 'text',
  lon: 'float8',
  lat: 'float8',
  x: 'float8',
  y: 'float8',
  epsg: 'int',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
const TYPEQU = /^[A-G]\d{3}$/;

/** Projection of LAMBERT_X/LAMBERT_Y when the file has no EPSG column (INSEE documentation of the BPE). */
export function localEpsg(code: string): number {
  switch (departementOf(code)) {
    case '971':
    case '972':
      return 5490; // UTM 20N (RGAF09)
    case '973':
      return 2972; // UTM 22N (RGFG95)
    case '974':
      return 2975; // UTM 40S (RGR92)
    case '976':
      return 4471; // UTM 38S (RGM04)
    default:
      return 2154; // Lambert 93
  }
}

/**
 * The detailed file: one row per equipment (points), and the counts per commune and type
 * unless INSEE's own counts of the same year were loaded (`countsOf`).
 */
async function loadDetailed(ctx: RunContext, file: LocalFile, countsOf?: string): Promise<string> {
  const staging = await ctx.staging('bpe', STAGING);
  const zipped = isZip(head(file.path));
  const opened = await openText(file.path, {
    entry: zipped ? /\.csv$/i : undefined,
    encoding: 'auto',
    onBytes: (n) => ctx.progress.update(n),
  });
  ctx.progress.start('load bpe', opened.size, 'bytes');
  const label = opened.label;
  const { header, rows } = await readCsv(opened.text, label, { delimiter: ';' });
  const up = new Set(header.map((h) => h.toUpperCase()));
  const wgs84 = up.has('LONGITUDE') || up.has('LATITUDE');
  // Which coordinate columns are required depends on the vintage; a missing one fails the run.
  const idx = requireColumns(label, header, [
    'DEPCOM',
    'TYPEQU',
    ...(wgs84 ? ['LONGITUDE', 'LATITUDE'] : ['LAMBERT_X', 'LAMBERT_Y']),
  ]) as Record<string, number>;
  const opt = (name: string) => header.findIndex((h) => h.toUpperCase() === name);
  const [iAn, iIris, iQual, iEpsg, iX, iY] = ['AN', 'DCIRIS', 'QUALITE_XY', 'EPSG', 'LAMBERT_X', 'LAMBERT_Y'].map(opt);
  const width = header.length;

  async function* mapped(): AsyncGenerator<StagingRow<keyof typeof STAGING>> {
    for await (const { values, line } of rows) {
      ctx.counters.read++;
      const raw = values.join(';');
      const bad = (reason: string) => ctx.quarantine.add({ file: label, line, raw, reason });
      if (values.length !== width) {
        await bad(`expected ${width} fields, got ${values.length}`);
        continue;
      }
      let code: string;
      try {
        code = normalizeCommuneCode(values[idx.DEPCOM]);
      } catch (e) {
        await bad(`column DEPCOM: ${(e as Error).message}`);
        continue;
      }
      const typequ = values[idx.TYPEQU].trim().toUpperCase();
      if (!TYPEQU.test(typequ)) {
        await bad(`column TYPEQU: not an equipment type: '${values[idx.TYPEQU]}'`);
        continue;
      }
      const num = (i: number, name: string) => {
        if (i < 0) return null;
        const v = parseDecimal(values[i]);
        if (v === INVALID) throw new Error(`column ${name}: not a coordinate: '${values[i]}'`);
        return v;
      };
      let lon: number | null = null,
        lat: number | null = null,
        x: number | null,
        y: number | null;
      try {
        if (wgs84) {
          lon = num(idx.LONGITUDE, 'LONGITUDE');
          lat = num(idx.LATITUDE, 'LATITUDE');
        }
        x = num(iX, 'LAMBERT_X');
        y = num(iY, 'LAMBERT_Y');
      } catch (e) {
        await bad((e as Error).message);
        continue;
      }
      if (lon !== null && lat !== null && (Math.abs(lon) > 180 || Math.abs(lat) > 90)) {
        await bad(`LONGITUDE/LATITUDE out of range: ${lon}, ${lat}`);
        continue;
      }
      let epsg: number | null = null;
      if (iEpsg >= 0 && /^\d{4,5}$/.test(values[iEpsg].trim())) epsg = Number(values[iEpsg].trim());
      else if (x !== null) epsg = localEpsg(code);
      ctx.counters.loaded++;
      yield {
        code,
        typequ,
        an: iAn >= 0 ? values[iAn].trim() || null : null,
        dciris: iIris >= 0 ? values[iIris].trim() || null : null,
        qualite: iQual >= 0 ? values[iQual].trim() || null : null,
        lon,
        lat,
        x,
        y,
        epsg,
        fichier: label,
        line,
        raw,
      };
    }
  }
  await staging.copyRows(ctx.db, mapped());
  ctx.progress.stop();

  const {
    rows: [an],
  } = await ctx.db.query(`select max(an) as an from ${staging.qualified} where an ~ '^\\d{4}$'`);
  // The data's year (AN), else the file name's (BPE25 → 2025) or the operator's (--millesime), else the declared one.
  const millesime: string = an?.an ?? file.edition ?? ctx.source.millesime!;
  ctx.setMillesime(millesime);
  ctx.checkpoint('after-staging');
  const cog = Number(millesime);
  // Equipments are objects: each is kept once, under its current commune (and its arrondissement).
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'DEPCOM',
    split: 'keep-on-code',
    splitReason: 'its equipments cannot be assigned',
    plm: 'both',
    overlap: 'keep-all',
  });
  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from equipement where millesime = $1`, [millesime]);
      if (countsOf !== millesime) await tx.query(`delete from equipement_compte where millesime = $1`, [millesime]);
      // Points: one per equipment, under the current commune; geometry built by PostGIS.
      const points = await tx.query(
        `insert into equipement (millesime, code_commune, code_source, typequ, dciris, qualite_xy, geom, fichier, ligne)
       select $1, m.code_actuel, s.code, s.typequ, s.dciris, s.qualite,
              case when s.lon is not null and s.lat is not null then st_setsrid(st_makepoint(s.lon, s.lat), 4326)
                   when s.x is not null and s.y is not null and s.epsg is not null then st_transform(st_setsrid(st_makepoint(s.x, s.y), s.epsg), 4326) end,
              s.fichier, s.line
         from ${staging.qualified} s join ${map} m on m.code = s.code and m.type = 'commune-actuelle'`,
        [millesime],
      );
      if (countsOf !== millesime)
        await tx.query(
          `insert into equipement_compte (millesime, code_commune, type, typequ, nombre, codes_sources)
         select $1, m.code_actuel, m.type, s.typequ, count(*), array_agg(distinct s.code order by s.code)
           from ${staging.qualified} s join ${map} m on m.code = s.code
          group by m.code_actuel, m.type, s.typequ`,
          [millesime],
        );
      return points.rowCount ?? 0;
    },
    { cog, fichier: path.basename(file.path), ...(countsOf === millesime ? { comptes: 'DS_BPE' } : {}) },
  );
  return millesime;
}

/**
 * The BPE: the detailed file (points) and INSEE's per-commune counts (Melodi DS_BPE), either or
 * both. The counts of a year come from INSEE's counts file when it is loaded, else from the points.
 */
async function load(ctx: RunContext): Promise<void> {
  const detailed = ctx.files.get('bpe');
  const counts = ctx.files.get('bpe-communes');
  if (!detailed && !counts)
    throw new MissingResourceError('equipements: neither the detailed BPE file nor the DS_BPE counts file was found');
  const countsOf = counts ? await loadCounts(ctx, counts) : undefined;
  const pointsOf = detailed ? await loadDetailed(ctx, detailed, countsOf) : undefined;
  const latest = [countsOf, pointsOf].filter(Boolean).sort().pop()!;
  ctx.setMillesime(latest);
}

export const pipeline: Pipeline = { source, order: 120, load, pack };
