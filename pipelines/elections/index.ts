import path from 'node:path';
import type { Pipeline, RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject, Reject } from '../../src/engine/load-csv';
import { parseCount, parseDecimal, INVALID } from '../../src/engine/csv';
import type { StagingRow } from '../../src/engine/staging';
import { communeCode, CommuneCodeError } from '../../src/communes/codes';
import { ContentError, MissingResourceError } from '../../src/engine/errors';
import { source, SCRUTINS, Scrutin, scrutinEdition } from './source';
import { detectLayout, readDialect, readHeader, rowBlocks, Layout, BlockCols } from './layout';
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
  // Some 2024 files write `Code commune` without its leading zero (1004 for 01004): padded, not rejected.
  if (/^\d{4}$/.test(c) && /^\d{1,2}$/.test(d)) return electionCommuneCode(dep, `0${c}`);
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

/**
 * Loads every file of one scrutin (municipales 2020 come as two files per round: communes under
 * and over 1,000 inhabitants) into one staging table, each with its own layout and separator,
 * then publishes the scrutin once: a file never replaces the other's communes.
 */
async function loadScrutin(ctx: RunContext, files: LocalFile[], scrutin: Scrutin, key: string): Promise<void> {
  const staging = await ctx.staging(key, STAGING);
  for (const file of files) {
    const fichier = path.basename(file.path);
    const { header, delimiter } = await readDialect(file.path);
    const layout = detectLayout(fichier, header);
    const required = Object.values(layout.general).map((i) => header[i]);
    await loadCsv(ctx, {
      file,
      encoding: 'auto',
      // Municipales 2020 list names hold quotes inside unquoted fields (`Liste "Agir"`): read as they are.
      dialect: { delimiter, relaxQuotes: true },
      staging,
      required,
      // présidentielle and municipales 2020 .txt: the header names one block, the rows carry them all.
      allowWidthMismatch: layout.kind === 'repeated',
      row: (_get, line, values, hdr) => mapRecord(layout, hdr, values, line, fichier),
    });
  }
  ctx.checkpoint('after-staging');
  await publishScrutin(ctx, staging.qualified, scrutin, files.map((f) => path.basename(f.path)).join(', '));
}

async function load(ctx: RunContext): Promise<void> {
  if (!ctx.files.size)
    throw new MissingResourceError(
      `elections: no results file found (resources: ${source.resources.map((r) => `${r.name} = ${r.mirrorNames.join(' or ')}`).join('; ')})`,
    );
  // Check every header first: a file missing columns fails the run before anything is published.
  for (const f of ctx.files.values()) detectLayout(path.basename(f.path), await readHeader(f.path));
  // The files of one scrutin (election and round) are published together.
  const byScrutin = new Map<string, { scrutin: Scrutin; files: LocalFile[] }>();
  for (const [name, file] of ctx.files) {
    const scrutin = SCRUTINS[name];
    if (!scrutin) throw new ContentError(`elections: no scrutin declared for resource '${name}'`);
    const key = `${scrutin.election}-t${scrutin.tour}`;
    const group = byScrutin.get(key) ?? { scrutin, files: [] };
    group.files.push(file);
    byScrutin.set(key, group);
  }
  for (const [key, { scrutin, files }] of byScrutin) {
    ctx.setMillesime(scrutinEdition(scrutin));
    await loadScrutin(ctx, files, scrutin, key);
  }
}

export const pipeline: Pipeline = { source, order: 130, load, pack };
