import path from 'node:path';
import type { Pipeline, RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject, Reject } from '../../src/engine/load-csv';
import { parseCount, parseDecimal, INVALID } from '../../src/engine/csv';
import type { StagingRow } from '../../src/engine/staging';
import { communeCode, CommuneCodeError } from '../../src/communes/codes';
import { ContentError, MissingResourceError } from '../../src/engine/errors';
import { source, SCRUTINS, Scrutin, scrutinEdition } from './source';
import { detectLayout, readHeader, rowBlocks, Layout, BlockCols } from './layout';
import { publishScrutin } from './transform';
import { pack } from './pack';

/**
 * One staging table per scrutin, long: a `r` row per commune record (general counts, raw line
 * for the quarantine) and a `c` row per candidate or list block (same line number).
 */
export const STAGING = {
  kind: 'text',
  code: 'text',
  line: 'bigint',
  raw: 'text',
  fichier: 'text',
  inscrits: 'int',
  votants: 'int',
  abstentions: 'int',
  blancs: 'int',
  nuls: 'int',
  exprimes: 'int',
  panneau: 'int',
  sexe: 'text',
  nom: 'text',
  prenom: 'text',
  libelle: 'text',
  nuance: 'text',
  voix: 'int',
  pct_exp_fichier: 'numeric',
};

/** Ministry département codes that are not a place with communes. */
const NOT_A_COMMUNE: Record<string, string> = {
  ZZ: 'Français établis hors de France (département ZZ) : pas une commune',
};

/** Builds the code INSEE from the Ministry's split code (`69` + `123`, `ZA` + `101`, or a 5-character `Code commune`). */
export function electionCommuneCode(dep: string, com: string): string {
  const d = dep.trim().toUpperCase();
  const c = com.trim().toUpperCase();
  if (NOT_A_COMMUNE[d]) throw new CommuneCodeError(NOT_A_COMMUNE[d]);
  if (/^Z[A-Z]\d{3}$/.test(c)) return electionCommuneCode(c.slice(0, 2), c.slice(2)); // ZX701 → 97701
  // ZX covers Saint-Barthélemy (977) and Saint-Martin (978): the commune part tells which.
  if (d === 'ZX' && /^8\d\d$/.test(c)) return communeCode('978', c);
  if (c.length === 5) {
    if (/^ZZ/.test(c)) throw new CommuneCodeError(NOT_A_COMMUNE.ZZ);
    const part = c.slice(-3);
    const built = communeCode(d, part);
    if (built !== c) throw new CommuneCodeError(`Code commune '${com}' disagrees with département '${dep}'`);
    return built;
  }
  return communeCode(d, c);
}

function count(values: string[], i: number | undefined, col: string): number | null | Reject {
  if (i === undefined) return null;
  const v = parseCount(values[i]);
  if (v === INVALID) return reject(`not a whole number: '${values[i]}'`, col);
  return v;
}
const isReject = (x: unknown): x is Reject => typeof x === 'object' && x !== null && 'reject' in x;

type Row = StagingRow<keyof typeof STAGING>;

function mapRecord(layout: Layout, header: string[], values: string[], line: number, fichier: string): Row[] | Reject {
  const g = layout.general;
  let code: string;
  try {
    code = electionCommuneCode(values[g.dep] ?? '', values[g.com] ?? '');
  } catch (e) {
    if (e instanceof CommuneCodeError) return reject(e.message, header[g.com]);
    throw e;
  }
  // The record's `r` row: its general counts and the raw line (for the quarantine).
  const record: Row = { kind: 'r', code, line, raw: values.join(';'), fichier };
  for (const k of ['inscrits', 'votants', 'abstentions', 'blancs', 'nuls', 'exprimes'] as const) {
    const v = count(values, g[k], header[g[k]]);
    if (isReject(v)) return v;
    record[k] = v;
  }
  const blocks = rowBlocks(layout, values);
  if (typeof blocks === 'string') return reject(blocks);
  const out: Row[] = [record];
  for (const [b, cols] of blocks.entries()) {
    const cell = (r: keyof BlockCols) => (cols[r] === undefined ? '' : (values[cols[r]!] ?? '').trim());
    const roles: (keyof BlockCols)[] = ['panneau', 'nom', 'libelle', 'libelleAbrege', 'voix'];
    if (roles.every((r) => cell(r) === '')) continue; // empty block (fewer candidates in this circonscription)
    const colName = (r: keyof BlockCols) =>
      `${header[layout.kind === 'repeated' ? layout.start + layout.blocks[0][r]! : cols[r]!]}${layout.kind === 'repeated' ? ` (bloc ${b + 1})` : ''}`;
    const panneau = count(values, cols.panneau, colName('panneau'));
    if (isReject(panneau)) return panneau;
    const voix = count(values, cols.voix, colName('voix'));
    if (isReject(voix)) return voix;
    const pct = cols.pctExp === undefined ? null : parseDecimal(values[cols.pctExp]);
    if (pct === INVALID) return reject(`not a decimal: '${values[cols.pctExp!]}'`, colName('pctExp'));
    const nz = (s: string) => (s === '' ? null : s);
    // A `c` row per candidate or list, on the record's line.
    out.push({
      kind: 'c',
      code,
      line,
      fichier,
      panneau,
      sexe: nz(cell('sexe')),
      nom: nz(cell('nom')),
      prenom: nz(cell('prenom')),
      libelle: nz(cell('libelle')) ?? nz(cell('libelleAbrege')),
      nuance: nz(cell('nuanceListe')) ?? nz(cell('nuance')),
      voix,
      pct_exp_fichier: pct,
    });
  }
  return out;
}

async function loadScrutin(ctx: RunContext, file: LocalFile, scrutin: Scrutin): Promise<void> {
  const fichier = path.basename(file.path);
  const header = await readHeader(file.path);
  const layout = detectLayout(fichier, header);
  const staging = await ctx.staging(file.resource, STAGING);
  const required = Object.values(layout.general).map((i) => header[i]);
  await loadCsv(ctx, {
    file,
    encoding: 'auto',
    dialect: { delimiter: ';' },
    staging,
    required,
    // présidentielle .txt: the header names one block, the rows carry them all.
    allowWidthMismatch: layout.kind === 'repeated',
    row: (_get, line, values, hdr) => mapRecord(layout, hdr, values, line, fichier),
  });
  ctx.checkpoint('after-staging');
  await publishScrutin(ctx, staging.qualified, scrutin, fichier);
}

async function load(ctx: RunContext): Promise<void> {
  if (!ctx.files.size)
    throw new MissingResourceError(
      `elections: no results file found (resources: ${source.resources.map((r) => `${r.name} = ${r.mirrorNames.join(' or ')}`).join('; ')})`,
    );
  // Check every header first: a file missing columns fails the run before anything is published.
  for (const f of ctx.files.values()) detectLayout(path.basename(f.path), await readHeader(f.path));
  for (const [name, file] of ctx.files) {
    const scrutin = SCRUTINS[name];
    if (!scrutin) throw new ContentError(`elections: no scrutin declared for resource '${name}'`);
    ctx.setMillesime(scrutinEdition(scrutin));
    await loadScrutin(ctx, file, scrutin);
  }
}

export const pipeline: Pipeline = { source, order: 130, load, pack };
