import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Pipeline, RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject, Reject } from '../../src/engine/load-csv';
import { openText } from '../../src/engine/decode';
import { FormatError } from '../../src/engine/errors';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode, CommuneCodeError } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { source, ATMO_SCALE, SCALE_START } from './source';
import { pack } from './pack';

// stream-json 3.x is an ES module: required lazily (Node ≥ 20.19 loads it from CommonJS).
type Chainable = unknown;
interface StreamJson {
  parser: (o?: { streamValues?: boolean }) => Chainable;
  pick: (o: { filter: string }) => Chainable;
  streamArray: () => Chainable;
  chain: (steps: unknown[]) => Readable;
}
let streamJson: StreamJson | undefined;
function loadStreamJson(): StreamJson {
  if (!streamJson) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    streamJson = {
      parser: require('stream-json').parser,
      pick: require('stream-json/filters/pick.js').pick,
      streamArray: require('stream-json/streamers/stream-array.js').streamArray,
      chain: require('stream-chain').chain,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  }
  return streamJson;
}

const STAGING = {
  date_ech: 'date',
  type_zone: 'text',
  /** The zone's code: a commune code or an EPCI SIREN, as type_zone says (code_zone upstream). */
  code: 'text',
  lib_zone: 'text',
  code_qual: 'smallint',
  coul_qual: 'text',
  code_no2: 'smallint',
  code_o3: 'smallint',
  code_pm10: 'smallint',
  code_pm25: 'smallint',
  code_so2: 'smallint',
  source: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
  erreur: 'text',
};

export const REQUIRED = [
  'date_ech',
  'type_zone',
  'code_zone',
  'code_qual',
  'code_no2',
  'code_o3',
  'code_pm10',
  'code_pm25',
  'code_so2',
] as const;
const OPTIONAL = ['lib_zone', 'coul_qual', 'source'] as const;
const SUBS = ['code_no2', 'code_o3', 'code_pm10', 'code_pm25', 'code_so2'] as const;
type Field = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

const parisDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/**
 * The day an index applies to, as YYYY-MM-DD. Accepts `2024-09-24`, `2024-09-24Z`,
 * `2024-09-24T00:00:00`, `24/09/2024`; a timestamp with an offset (`2024-09-23T22:00:00Z`)
 * is read as a day of Paris (→ 2024-09-24).
 */
export function parseDateEch(raw: string): string | undefined {
  const s = raw.trim();
  const fr = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  let y: string, m: string, d: string;
  if (fr) {
    [, d, m, y] = fr;
  } else {
    const iso = /^(\d{4})-(\d{2})-(\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
    if (!iso) return undefined;
    [, y, m, d] = iso;
    if (iso[4] && iso[8]) {
      const t = new Date(s.replace(' ', 'T'));
      if (Number.isNaN(t.getTime())) return undefined;
      return parisDay.format(t);
    }
  }
  const t = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (t.getUTCFullYear() !== Number(y) || t.getUTCMonth() !== Number(m) - 1 || t.getUTCDate() !== Number(d)) return undefined;
  return `${y}-${m}-${d}`;
}

function code07(v: string): number | null | Reject {
  const s = v.trim();
  if (s === '') return null;
  if (!/^\d+$/.test(s) || Number(s) > 7) return reject(`not an index code 0–7: '${v}'`);
  return Number(s);
}

type Row = StagingRow<keyof typeof STAGING>;

/** Validates one record (CSV row or GeoJSON properties) into a staged row, or rejects it. */
export function mapRecord(get: (k: Field) => string, fichier: string, line: number, raw: string): Row | Reject {
  const date = parseDateEch(get('date_ech'));
  if (!date) return reject(`not a date: '${get('date_ech')}'`, 'date_ech');
  if (date < SCALE_START)
    return reject(`${date} is before ${SCALE_START}: the old 1–10 index is not comparable with the current 1–6 one`, 'date_ech');
  const type = get('type_zone').trim().toLowerCase();
  const rawZone = get('code_zone').trim();
  let zone: string;
  if (type === 'commune') {
    try {
      zone = normalizeCommuneCode(rawZone);
    } catch (e) {
      if (e instanceof CommuneCodeError) return reject(e.message, 'code_zone');
      throw e;
    }
  } else if (type === 'epci') {
    if (!/^\d{9}$/.test(rawZone)) return reject(`not an EPCI SIREN (9 digits): '${rawZone}'`, 'code_zone');
    zone = rawZone;
  } else return reject(`expected 'commune' or 'EPCI', got '${get('type_zone')}'`, 'type_zone');
  const qual = code07(get('code_qual'));
  if (qual === null) return reject('empty index', 'code_qual');
  if (typeof qual === 'object') return { ...qual, column: 'code_qual' };
  const row: Row = { date_ech: date, type_zone: type, code: zone, code_qual: qual };
  for (const k of SUBS) {
    const c = code07(get(k));
    if (c !== null && typeof c === 'object') return { ...c, column: k };
    row[k] = c;
  }
  const opt = (k: Field) => get(k).trim() || null;
  return { ...row, lib_zone: opt('lib_zone'), coul_qual: opt('coul_qual'), source: opt('source'), fichier, line, raw };
}

/** Decides CSV or GeoJSON from the name, else from the first significant character. */
async function isGeoJson(file: LocalFile): Promise<boolean> {
  const name = path.basename(file.path).toLowerCase();
  if (/\.(geo)?json(\.gz)?$/.test(name)) return true;
  if (/\.csv(\.gz)?$/.test(name)) return false;
  const head = await firstText(file);
  return head.trimStart().startsWith('{');
}

/** The first decoded characters of a file (gzip/zip handled), for sniffing. */
async function firstText(file: LocalFile): Promise<string> {
  const { text } = await openText(file.path, { encoding: 'utf8', lines: false });
  return new Promise((resolve, reject) => {
    let acc = '';
    text.on('data', (c: Buffer | string) => {
      acc += c.toString();
      if (acc.length >= 4096) {
        text.destroy();
        resolve(acc);
      }
    });
    text.on('end', () => resolve(acc));
    text.on('close', () => resolve(acc));
    text.on('error', reject);
  });
}

async function loadCsvFile(ctx: RunContext, file: LocalFile, staging: StagingTable<keyof typeof STAGING>): Promise<void> {
  // The API's CSV is comma-separated; regional exports re-saved in a spreadsheet use ';'.
  const head = (await firstText(file)).split(/\r?\n/)[0];
  const delimiter = (head.match(/;/g)?.length ?? 0) > (head.match(/,/g)?.length ?? 0) ? ';' : ',';
  const fichier = path.basename(file.path);
  let optIdx: Record<string, number> | undefined;
  await loadCsv(ctx, {
    file,
    encoding: 'utf8',
    dialect: { delimiter },
    staging,
    required: REQUIRED,
    row: (get, line, values, header) => {
      optIdx ??= Object.fromEntries(OPTIONAL.map((k) => [k, header.findIndex((h) => h.trim().toLowerCase() === k)]));
      const all = (k: Field) =>
        (REQUIRED as readonly string[]).includes(k) ? get(k as (typeof REQUIRED)[number]) : (values[optIdx![k]] ?? '');
      return mapRecord(all, fichier, line, values.join(delimiter));
    },
  });
}

/**
 * Streams a GeoJSON FeatureCollection feature by feature (stream-json: parser → pick
 * `features` → streamArray), never holding the file in memory. The first feature's properties
 * play the header's part: required properties missing there fail the run, naming them.
 * Quarantined features carry their index in `features` as line.
 */
async function loadGeoJsonFile(ctx: RunContext, file: LocalFile, staging: StagingTable<keyof typeof STAGING>): Promise<void> {
  const { parser, pick, streamArray, chain } = loadStreamJson();
  const opened = await openText(file.path, {
    encoding: 'utf8',
    entry: /\.(geo)?json$/i,
    lines: false,
    onBytes: (n) => ctx.progress.update(n),
  });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const label = opened.label;
  const fichier = path.basename(file.path);
  // Values packed only (no per-chunk value tokens): the same features for less CPU.
  const features = chain([opened.text, parser({ streamValues: false }), pick({ filter: 'features' }), streamArray()]);
  opened.text.on('error', (e) => features.destroy(e));
  let seen = 0;
  async function* rows(): AsyncGenerator<Row> {
    try {
      for await (const { key, value } of features as AsyncIterable<{ key: number; value: unknown }>) {
        seen++;
        ctx.counters.read++;
        const props = (value as { properties?: unknown } | null)?.properties;
        const raw = JSON.stringify(props ?? value).slice(0, 2000);
        if (!props || typeof props !== 'object' || Array.isArray(props)) {
          await ctx.quarantine.add({ file: label, line: key, raw, reason: `feature ${key}: no properties object` });
          continue;
        }
        const p = props as Record<string, unknown>;
        if (seen === 1) {
          const missing = REQUIRED.filter((k) => !(k in p));
          if (missing.length)
            throw new FormatError(
              label,
              `missing propert${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')} in the first feature (has: ${Object.keys(p).join(', ')})`,
              undefined,
              missing.join(', '),
            );
        }
        const get = (k: Field) => (p[k] === null || p[k] === undefined ? '' : String(p[k]));
        const out = mapRecord(get, fichier, key, raw);
        if ('reject' in out) {
          await ctx.quarantine.add({
            file: label,
            line: key,
            raw,
            reason: `feature ${key}: ${out.column ? `property ${out.column}: ` : ''}${out.reject}`,
          });
          continue;
        }
        ctx.counters.loaded++;
        yield out;
      }
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(label, `invalid JSON after ${seen} feature(s): ${(e as Error).message}`);
    }
  }
  await staging.copyRows(ctx.db, rows());
  ctx.progress.stop();
  if (!seen) throw new FormatError(label, 'no features: expected a GeoJSON FeatureCollection with a non-empty "features" array');
}

async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('indices')!;
  const staging = await ctx.staging('indices', STAGING);
  const geojson = await isGeoJson(file);
  if (geojson) await loadGeoJsonFile(ctx, file, staging);
  else await loadCsvFile(ctx, file, staging);
  ctx.checkpoint('after-staging');
  await publishIndices(ctx, staging.qualified, geojson);
}

/**
 * SQL checks after staging, then one transaction that replaces the days the file covers:
 * commune values re-coded to the current COG, EPCI values spread over their member communes
 * (epci_membres) unless the commune has its own value that day.
 */
async function publishIndices(ctx: RunContext, t: string, geojson: boolean): Promise<void> {
  const {
    rows: [range],
  } = await ctx.db.query(`select min(date_ech)::text as du, max(date_ech)::text as au from ${t}`);
  if (!range.du) throw new FormatError(path.basename(ctx.files.get('indices')!.path), 'no valid record: nothing to publish');
  const cog = Number(range.du.slice(0, 4));
  await ctx.db.query(`create index on ${t} (code)`);
  // The same zone twice the same day: later records are quarantined.
  await ctx.db.query(
    `update ${t} s set erreur = 'column code_zone: ' || s.type_zone || ' ' || s.code || ' already has a value on ' || s.date_ech || ' (record ' || d.first || ')'
       from (select date_ech, type_zone, code, min(line) as first from ${t} group by 1, 2, 3 having count(*) > 1) d
      where s.date_ech = d.date_ech and s.type_zone = d.type_zone and s.code = d.code and s.line > d.first`,
  );
  await ctx.db.query(
    `update ${t} s set erreur = 'column code_zone: EPCI ' || s.code || ' is not in the referential (or has no member commune)'
      where s.erreur is null and s.type_zone = 'epci' and not exists (select 1 from epci_membres m where m.epci = s.code)`,
  );
  await ctx.rejectStaged(
    `select fichier as file, line, raw, ${geojson ? `'feature ' || line || ': ' || ` : ''}erreur as reason from ${t} where erreur is not null`,
  );
  // An arrondissement keeps its own index (the index of a place, not a sum).
  const { map } = await recode(ctx, t, {
    cog,
    column: 'code_zone',
    split: 'keep-on-code',
    splitReason: 'the index cannot be assigned',
    plm: 'keep',
    overlap: 'keep-all',
    where: `s.type_zone = 'commune' and s.erreur is null`,
    reasonPrefix: geojson ? `'feature ' || s.line || ': '` : undefined,
  });
  const {
    rows: [valid],
  } = await ctx.db.query(
    `select min(date_ech)::text as du, max(date_ech)::text as au from ${t} s
      where s.erreur is null and (s.type_zone <> 'commune' or exists (select 1 from ${map} m where m.code = s.code))`,
  );
  const du = valid.du ?? range.du;
  const au = valid.au ?? range.au;
  const millesime = au.slice(0, 4);
  ctx.setMillesime(millesime);

  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from atmo_indice where date_ech between $1::date and $2::date`, [du, au]);
      const { rowCount } = await tx.query(
        `with s as (select * from ${t} where erreur is null),
            mapped as (select s.*, m.code_actuel as code_commune from s join ${map} m on m.code = s.code where s.type_zone = 'commune'),
            -- former communes merged since: the worst index of the day, as the index itself is the worst sub-index
            com as (select distinct on (m.date_ech, m.code_commune) m.*,
                           array_agg(m.code) over (partition by m.date_ech, m.code_commune) as codes
                      from mapped m
                     order by m.date_ech, m.code_commune, (m.code_qual between 1 and 6) desc, m.code_qual desc, m.code),
            epc as (select distinct on (s.date_ech, e.commune) s.*, e.commune as code_commune
                      from s join epci_membres e on e.epci = s.code
                     where s.type_zone = 'epci'
                     order by s.date_ech, e.commune, (s.code_qual between 1 and 6) desc, s.code_qual desc, s.code)
       insert into atmo_indice (date_ech, code_commune, echelle, code_zone, lib_zone, code_qual, lib_qual, coul_qual,
                                code_no2, code_o3, code_pm10, code_pm25, code_so2, source, codes_sources, run_id)
       select date_ech, code_commune, 'commune', code, lib_zone, code_qual, ($1::text[])[code_qual + 1], coul_qual,
              code_no2, code_o3, code_pm10, code_pm25, code_so2, source, (select array_agg(distinct c order by c) from unnest(codes) c), $2::bigint
         from com
       union all
       select date_ech, code_commune, 'epci', code, lib_zone, code_qual, ($1::text[])[code_qual + 1], coul_qual,
              code_no2, code_o3, code_pm10, code_pm25, code_so2, source, array[code], $2::bigint
         from epc
        where not exists (select 1 from com where com.date_ech = epc.date_ech and com.code_commune = epc.code_commune)`,
        [ATMO_SCALE, ctx.runId],
      );
      return rowCount ?? 0;
    },
    { cog, du, au },
  );
}

export const pipeline: Pipeline = { source, order: 160, load, pack };
