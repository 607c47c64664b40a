import type { PoolClient } from 'pg';
import type { RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject, type Reject } from '../../src/engine/load-csv';
import { parseDecimal } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode, CommuneCodeError } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { COVERAGE_FILE } from './source';

/**
 * ARCEP's coverage statistics per commune (`2023T3_op_communes.csv`): one line per technology ×
 * operator × commune, the shares (%) of the commune's surface (`couv_*`) and population (`pop_*`)
 * at each coverage level. Layout documented by ARCEP's Mon réseau mobile back-office
 * (ARCEP-dev/Mon-Reseau-Mobile-v2@ce4169b back_mrm/static/info.js, « stat_commune »).
 * Read by name, headers without case; the operator column is `mcc_mnc` there, `operateur` in the
 * back-office's importer (back_mrm/scripts/couverture_stats_commune.py): either is accepted.
 */
export const COVERAGE_STAGING = {
  code: 'text',
  techno: 'text',
  code_op: 'text',
  couv_nc: 'numeric',
  couv_cl: 'numeric',
  couv_bc: 'numeric',
  couv_tbc: 'numeric',
  pop_nc: 'numeric',
  pop_cl: 'numeric',
  pop_bc: 'numeric',
  pop_tbc: 'numeric',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
  erreur: 'text',
};
type Staged = StagingTable<keyof typeof COVERAGE_STAGING>;

const SHARES = ['couv_nc', 'couv_cl', 'couv_bc', 'couv_tbc', 'pop_nc', 'pop_cl', 'pop_bc', 'pop_tbc'] as const;
const COVERAGE_REQUIRED = ['techno', 'commune', ...SHARES] as const;
type Col = (typeof COVERAGE_REQUIRED)[number];
/** The operator's MCC-MNC, by the names ARCEP's files and importer use. */
const OPERATOR_COLUMNS = ['mcc_mnc', 'operateur', 'code_op'];

/** `2G`, `3G`, `4G`, `5G`, and `2G3G` (voice in 2G or 3G, as ARCEP's statistics name it) → `2G/3G`. */
function technology(raw: string): string | undefined {
  const s = raw
    .trim()
    .toUpperCase()
    .replace(/[\s/+-]/g, '');
  if (s === '2G3G') return '2G/3G';
  return /^[2-5]G$/.test(s) ? s : undefined;
}

function share(raw: string, column: string): number | null | Reject {
  const v = parseDecimal(raw.replace(/%$/, ''));
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) return reject(`not a number: '${raw}'`, column);
  if (v < 0 || v > 100) return reject(`a share in % must be within 0–100, got ${raw}`, column);
  return v;
}

function mapRow(
  get: (k: Col) => string,
  operator: string,
  line: number,
  values: string[],
): StagingRow<keyof typeof COVERAGE_STAGING> | Reject {
  const techno = technology(get('techno'));
  if (!techno) return reject(`expected 2G, 2G3G, 3G, 4G or 5G, got '${get('techno')}'`, 'techno');
  const codeOp = operator.trim();
  if (!/^\d{5,6}$/.test(codeOp)) return reject(`not an operator code (MCC-MNC, 5 or 6 digits): '${operator}'`, 'mcc_mnc');
  const rawCode = get('commune').trim();
  if (!rawCode) return reject('empty commune code', 'commune');
  let code: string;
  try {
    code = normalizeCommuneCode(rawCode);
  } catch (e) {
    if (e instanceof CommuneCodeError) return reject(e.message, 'commune');
    throw e;
  }
  const row: StagingRow<keyof typeof COVERAGE_STAGING> = { code, techno, code_op: codeOp };
  for (const k of SHARES) {
    const v = share(get(k), k);
    if (v !== null && typeof v === 'object') return v;
    row[k] = v;
  }
  if (SHARES.every((k) => row[k] === null)) return reject('no share given (every couv_* and pop_* column empty)');
  return { ...row, line, raw: values.join(';') };
}

/** Stages one coverage file; quarantines its bad lines. */
export async function stageCoverage(ctx: RunContext, file: LocalFile, staging: Staged): Promise<string> {
  let opIdx: number | undefined;
  let header: string[] = [];
  const { label } = await loadCsv(ctx, {
    file,
    entry: COVERAGE_FILE,
    encoding: 'utf8',
    dialect: { delimiter: ';' },
    staging,
    required: COVERAGE_REQUIRED,
    row: (get, line, values, h) => {
      if (opIdx === undefined) {
        header = h;
        const norm = h.map((x) => x.trim().toLowerCase());
        opIdx = OPERATOR_COLUMNS.map((c) => norm.indexOf(c)).find((i) => i >= 0) ?? -1;
      }
      if (opIdx < 0) return reject('no operator column', 'mcc_mnc');
      return mapRow(get, values[opIdx] ?? '', line, values);
    },
  });
  // A header without the operator's code: the run fails before anything is published.
  if (opIdx === -1)
    throw new FormatError(
      label,
      `missing column mcc_mnc (the operator's code; also read as ${OPERATOR_COLUMNS.slice(1).join(' or ')}) (header: ${header.join(';')})`,
      1,
      'mcc_mnc',
    );
  return label;
}

/**
 * SQL checks after staging (the same commune, operator and technology twice; codes unknown to
 * the COG of the quarter), then the map to current communes. Shares are never summed: an
 * arrondissement keeps its own row, a commune merged since keeps one row per former commune.
 */
export async function checkCoverage(ctx: RunContext, staging: Staged, cog: number): Promise<string> {
  const t = staging.qualified;
  await ctx.db.query(`create index on ${t} (code)`);
  await ctx.db.query(
    `update ${t} s set erreur = 'column commune: ' || s.techno || ' of operator ' || s.code_op || ' in commune ' || s.code || ' already given at line ' || d.first
       from (select techno, code_op, code, fichier, min(line) as first from ${t} group by 1, 2, 3, 4 having count(*) > 1) d
      where s.techno = d.techno and s.code_op = d.code_op and s.code = d.code and s.fichier = d.fichier and s.line > d.first`,
  );
  await ctx.rejectStaged(`select fichier as file, line, raw, erreur as reason from ${t} where erreur is not null`);
  const { map } = await recode(ctx, t, {
    cog,
    column: 'commune',
    split: 'keep-on-code',
    splitReason: 'its coverage shares cannot be divided',
    plm: 'keep',
    overlap: 'keep-all',
    where: 's.erreur is null',
  });
  return map;
}

/** Replaces the quarter's coverage (inside the publishing transaction). */
export async function publishCoverage(
  tx: PoolClient,
  staging: string,
  map: string,
  millesime: string,
  operators: Record<string, string>,
): Promise<number> {
  await tx.query(`delete from arcep_couverture where millesime = $1`, [millesime]);
  const { rowCount } = await tx.query(
    `insert into arcep_couverture (millesime, code_commune, type, code_source, code_op, operateur, technologie,
                                   surface_nc, surface_cl, surface_bc, surface_tbc, population_nc, population_cl, population_bc, population_tbc)
     select $1, m.code_actuel, m.type, s.code, s.code_op,
            coalesce($2::jsonb ->> s.code_op, (select min(a.operateur) from arcep_sites a where a.code_op = s.code_op)), s.techno,
            s.couv_nc, s.couv_cl, s.couv_bc, s.couv_tbc, s.pop_nc, s.pop_cl, s.pop_bc, s.pop_tbc
       from ${staging} s join ${map} m on m.code = s.code
      where s.erreur is null`,
    [millesime, JSON.stringify(operators)],
  );
  return rowCount ?? 0;
}
