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
import { source } from './source';
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

/** OFGL long export: exer;…;com_code (or insee);…;siren;…;type_de_budget;…;agregat;montant;ptot;… */
async function ofglColumns(file: LocalFile) {
  const header = await readHeader(file.path);
  const codeCol = header.find((h) => h.toLowerCase() === 'com_code') ?? header.find((h) => h.toLowerCase() === 'insee') ?? 'com_code';
  const required = ['exer', codeCol, 'siren', 'type_de_budget', 'agregat', 'montant', 'ptot'] as const;
  requireColumns(path.basename(file.path), header, required);
  return { codeCol, required };
}

async function loadOfgl(ctx: RunContext, file: LocalFile): Promise<void> {
  const fichier = path.basename(file.path);
  const { codeCol, required } = await ofglColumns(file);
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
        code = normalizeCommuneCode(get(codeCol));
      } catch (e) {
        if (e instanceof CommuneCodeError) return reject(e.message, codeCol);
        throw e;
      }
      const exer = year(get('exer'));
      if (exer === null) return reject(`not a year: '${get('exer')}'`, 'exer');
      const siren = get('siren').trim();
      if (!/^\d{9}$/.test(siren)) return reject(`not a SIREN: '${siren}'`, 'siren');
      if (!get('agregat').trim()) return reject('empty agrégat', 'agregat');
      const montant = parseDecimal(get('montant'));
      if (montant === INVALID) return reject(`not a number: '${get('montant')}'`, 'montant');
      const ptot = parseCount(get('ptot'));
      if (ptot === INVALID) return reject(`not a whole number: '${get('ptot')}'`, 'ptot');
      exercices.add(exer);
      return {
        code,
        exercice: exer,
        siren,
        type_budget: get('type_de_budget').trim(),
        agregat: get('agregat').trim(),
        montant,
        ptot,
        fichier,
        line,
        raw: values.join(';'),
      };
    },
  });
  ctx.checkpoint('after-staging');
  await publishOfgl(ctx, staging.qualified, [...exercices].sort(), fichier, codeCol);
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
