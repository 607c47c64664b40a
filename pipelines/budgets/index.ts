import { MissingResourceError } from '../../src/engine/errors';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { parseCount, parseDecimal, requireColumns, INVALID } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';
import type { StagingRow } from '../../src/engine/staging';
import { communeCode, normalizeCommuneCode, CommuneCodeError } from '../../src/communes/codes';
import { CONSOLIDATED, source } from './source';
import { publishOfgl, publishDgfip } from './transform';
import { pack } from './pack';

/** Header row of a UTF-8 file (BOM removed), read without reading the file. */
export async function readHeader(file: string): Promise<string[]> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(128 * 1024);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const line = text.split('\n')[0].replace(/\r$/, '');
    if (!line.trim()) throw new FormatError(path.basename(file), 'empty file: no header row');
    return (parse(line, { delimiter: ';', relax_quotes: true }) as string[][])[0].map((h) => h.trim());
  } finally {
    await fd.close();
  }
}

export const OFGL_STAGING = {
  code: 'text',
  exercice: 'int',
  siren: 'text',
  type_budget: 'text',
  agregat: 'text',
  montant: 'numeric',
  ptot: 'int',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
export const DGFIP_STAGING = {
  code: 'text',
  exercice: 'int',
  agregat: 'text',
  montant_keur: 'numeric',
  pop: 'int',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};

const year = (raw: string): number | null => {
  const m = /^(\d{4})(-\d{2}-\d{2})?$/.exec(raw.trim());
  return m ? Number(m[1]) : null;
};

/** A header name compared without case, accents or repeated spaces: `Agrégat` = `agregat`. */
const normHeader = (h: string) =>
  h
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();

/**
 * The OFGL columns, by field name (the API export: `exer`, `com_code`…) or by label (the export
 * with `use_labels=true`: `Exercice`, `Code Insee 2024 Commune`…, the COG year inside the label,
 * so matched by pattern). `type_de_budget` exists in the base « communes », not in the
 * consolidated base, whose `Montant` is already principal + annexes.
 */
const OFGL_COLUMNS = {
  exer: [/^exer$/, /^exercice$/],
  code: [/^com_code$/, /^insee$/, /^code insee (\d{4}) commune$/],
  siren: [/^siren$/, /^code siren collectivite$/],
  agregat: [/^agregat$/],
  montant: [/^montant$/],
  ptot: [/^ptot$/, /^population totale$/],
  type: [/^type_de_budget$/, /^type de budget$/],
} as const;
type OfglColumn = keyof typeof OFGL_COLUMNS;
const OFGL_OPTIONAL = new Set<OfglColumn>(['type']);

/** Finds each OFGL column in the header (see OFGL_COLUMNS); a missing one fails the run, naming it. */
async function ofglColumns(file: LocalFile) {
  const header = await readHeader(file.path);
  const names = {} as Record<OfglColumn, string | undefined>;
  let cog: number | undefined;
  const missing: string[] = [];
  for (const [key, patterns] of Object.entries(OFGL_COLUMNS) as [OfglColumn, readonly RegExp[]][]) {
    for (const h of header) {
      const m = patterns.map((re) => re.exec(normHeader(h))).find(Boolean);
      if (!m) continue;
      names[key] = h;
      if (key === 'code' && m[1]) cog = Number(m[1]);
      break;
    }
    if (!names[key] && !OFGL_OPTIONAL.has(key)) missing.push(key === 'code' ? 'com_code (or Code Insee AAAA Commune)' : key);
  }
  if (missing.length)
    throw new FormatError(
      path.basename(file.path),
      `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(';')})`,
      1,
      missing.join(', '),
    );
  const required = (Object.keys(names) as OfglColumn[]).filter((k) => names[k]).map((k) => names[k]!);
  return { names: names as Record<Exclude<OfglColumn, 'type'>, string> & { type?: string }, required, cog };
}

async function loadOfgl(ctx: RunContext, file: LocalFile): Promise<void> {
  const fichier = path.basename(file.path);
  const { names: col, required, cog } = await ofglColumns(file);
  const staging = await ctx.staging('ofgl', OFGL_STAGING);
  const exercices = new Set<number>();
  await loadCsv(ctx, {
    file,
    encoding: 'utf8',
    dialect: { delimiter: ';' },
    staging,
    required,
    row: (get, line, values) => {
      let code: string;
      try {
        code = normalizeCommuneCode(get(col.code));
      } catch (e) {
        if (e instanceof CommuneCodeError) return reject(e.message, col.code);
        throw e;
      }
      const exer = year(get(col.exer));
      if (exer === null) return reject(`not a year: '${get(col.exer)}'`, col.exer);
      const siren = get(col.siren).trim();
      if (!/^\d{9}$/.test(siren)) return reject(`not a SIREN: '${siren}'`, col.siren);
      if (!get(col.agregat).trim()) return reject('empty agrégat', col.agregat);
      const montant = parseDecimal(get(col.montant));
      if (montant === INVALID) return reject(`not a number: '${get(col.montant)}'`, col.montant);
      const ptot = parseCount(get(col.ptot));
      if (ptot === INVALID) return reject(`not a whole number: '${get(col.ptot)}'`, col.ptot);
      exercices.add(exer);
      return {
        code,
        exercice: exer,
        siren,
        type_budget: col.type ? get(col.type).trim() : CONSOLIDATED,
        agregat: get(col.agregat).trim(),
        montant,
        ptot,
        fichier,
        line,
        raw: values.join(';'),
      };
    },
  });
  ctx.checkpoint('after-staging');
  await publishOfgl(ctx, staging.qualified, [...exercices].sort(), fichier, col.code, cog);
}

const DGFIP_IDS = new Set(['an', 'dep', 'icom', 'inom', 'reg', 'pop1']);

/** DGFiP wide file: an;dep;icom;inom;reg;pop1;X;fX;mX;… — an agrégat is every X with its fX (€/hab) beside it. */
async function dgfipColumns(file: LocalFile) {
  const fichier = path.basename(file.path);
  const header = await readHeader(file.path);
  const required = ['an', 'dep', 'icom', 'pop1'] as const;
  requireColumns(fichier, header, required);
  const lower = header.map((h) => h.toLowerCase());
  const agregats = lower.map((h, i) => ({ h, i })).filter(({ h }) => !DGFIP_IDS.has(h) && lower.includes(`f${h}`));
  if (!agregats.length) throw new FormatError(fichier, 'no amount column with its per-inhabitant twin (prod/fprod, dette/fdette …)', 1);
  return { header, required, agregats };
}

async function loadDgfip(ctx: RunContext, file: LocalFile): Promise<void> {
  const fichier = path.basename(file.path);
  const { header, required, agregats } = await dgfipColumns(file);
  const staging = await ctx.staging('dgfip', DGFIP_STAGING);
  const exercices = new Set<number>();
  await loadCsv(ctx, {
    file,
    encoding: 'auto',
    dialect: { delimiter: ';' },
    staging,
    required,
    row: (get, line, values) => {
      let code: string;
      try {
        code = communeCode(get('dep'), get('icom'));
      } catch (e) {
        // "069" + "039" → 69039
        if (e instanceof CommuneCodeError) return reject(e.message, 'icom');
        throw e;
      }
      const an = year(get('an'));
      if (an === null) return reject(`not a year: '${get('an')}'`, 'an');
      const pop = parseCount(get('pop1'));
      if (pop === INVALID) return reject(`not a whole number: '${get('pop1')}'`, 'pop1');
      // One row per agrégat; only the first carries the raw record (one quarantine row per record).
      const rows: StagingRow<keyof typeof DGFIP_STAGING>[] = [];
      for (const { h, i } of agregats) {
        const v = parseDecimal(values[i]);
        if (v === INVALID) return reject(`not a number: '${values[i]}'`, header[i]);
        rows.push({ code, exercice: an, agregat: h, montant_keur: v, pop, fichier, line, raw: rows.length ? null : values.join(';') });
      }
      exercices.add(an);
      return rows;
    },
  });
  ctx.checkpoint('after-staging');
  await publishDgfip(ctx, staging.qualified, [...exercices].sort(), fichier);
}

async function load(ctx: RunContext): Promise<void> {
  if (!ctx.files.size)
    throw new MissingResourceError(
      `budgets: no accounts file found (resources: ${source.resources.map((r) => `${r.name} = ${r.mirrorNames.join(' or ')}`).join('; ')})`,
    );
  const ofgl = ctx.files.get('ofgl');
  const dgfip = ctx.files.get('dgfip');
  // Every header is checked before anything is published: a bad file fails the whole run.
  if (ofgl) await ofglColumns(ofgl);
  if (dgfip) await dgfipColumns(dgfip);
  if (ofgl) await loadOfgl(ctx, ofgl);
  if (dgfip) await loadDgfip(ctx, dgfip);
}

export const pipeline: Pipeline = { source, order: 140, load, pack };
