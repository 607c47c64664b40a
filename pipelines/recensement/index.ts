import fs from 'node:fs';
import path from 'node:path';
import { parse as parseSync } from 'csv-parse/sync';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { isZip, openText, readSmallText, zipEntries } from '../../src/engine/decode';
import { readCsv, requireColumns } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';
import { normalizeCommuneCode } from '../../src/communes/codes';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { source } from './source';
import { pack } from './pack';
import { publishRecensement } from './transform';
import { readHead as head } from '../../src/engine/decode';

export { head };

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
/** Census variable: P22_POP, C22_MENPSEUL, P16_POP, D99_POP (prefix letters, 2-digit year, name). */
const VARIABLE = /^([A-Z]+)(\d{2})_([A-Z0-9_]+)$/;
/** Columns of a Melodi file that are not dimensions of the measure. */
const DS_ATTRIBUTES = new Set([
  'GEO',
  'GEO_OBJECT',
  'TIME_PERIOD',
  'OBS_VALUE',
  'OBS_STATUS',
  'OBS_STATUS_FR',
  'OBS_FLAG',
  'CONF_STATUS',
  'DECIMALS',
  'UNIT_MULT',
  'FREQ',
]);

export const WIDE = { code: 'text', fichier: 'text', line: 'bigint', raw: 'text', vals: 'numeric[]' };
export const VARS = { fichier: 'text', idx: 'int', variable: 'text', annee: 'int', millesime: 'text', libelle: 'text' };
export const LONG = {
  code: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
  millesime: 'text',
  variable: 'text',
  annee: 'int',
  valeur: 'numeric',
  libelle: 'text',
};

const yearOf = (yy: string) => (Number(yy) > 50 ? 1900 : 2000) + Number(yy);

/** Where the metadata of a data file is: the archive entry, or a sibling file. */
async function readMetadata(
  file: LocalFile,
  zipped: boolean,
  pattern: RegExp,
  sibling: (base: string) => string[],
): Promise<Record<string, string>[] | undefined> {
  let text: string | undefined;
  if (zipped) {
    const entry = (await zipEntries(file.path)).map((n) => n.split('/').pop()!).find((n) => pattern.test(n));
    if (entry) text = await readSmallText(file.path, { entry, encoding: 'auto' });
  } else {
    for (const name of sibling(path.basename(file.path))) {
      const p = path.join(path.dirname(file.path), name);
      if (fs.existsSync(p)) {
        text = await readSmallText(p, { encoding: 'auto' });
        break;
      }
    }
  }
  if (text === undefined) return undefined;
  const rows = parseSync(text, {
    delimiter: ';',
    columns: (h: string[]) => h.map((x) => x.trim().toUpperCase()),
    skip_empty_lines: true,
    relax_column_count: true,
    bom: true,
  }) as Record<string, string>[];
  return rows;
}

/**
 * A wide base communale: the header is parsed once into (index, variable, year); each record
 * becomes ONE staged row holding its values as a numeric[] (the unnest into long rows is done
 * by PostgreSQL at publication), so Node does no per-variable allocation beyond parsing.
 */
async function loadBaseCc(
  ctx: RunContext,
  file: LocalFile,
  wide: StagingTable<keyof typeof WIDE>,
  vars: StagingTable<keyof typeof VARS>,
  keyVariable: string,
): Promise<string> {
  const zipped = isZip(head(file.path));
  const opened = await openText(file.path, {
    entry: zipped ? /^(?!meta_).*\.csv$/i : undefined,
    encoding: 'auto',
    onBytes: (n) => ctx.progress.update(n),
  });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const label = opened.label;
  const fichier = label; // archive!entry, as in the quarantine
  const { header, rows } = await readCsv(opened.text, label, { delimiter: ';' });
  const columns: { idx: number; variable: string; annee: number }[] = [];
  for (const [idx, h] of header.entries()) {
    const m = VARIABLE.exec(h.toUpperCase());
    if (m) columns.push({ idx, variable: h.toUpperCase(), annee: yearOf(m[2]) });
  }
  const recent = columns.filter((c) => /^[PC]\d/.test(c.variable.slice(0, 2)));
  if (!recent.length)
    throw new FormatError(label, `no census variable (Pyy_… or Cyy_…) in the header (header: ${header.slice(0, 10).join(';')}…)`, 1);
  const millesime = String(Math.max(...recent.map((c) => c.annee)));
  const yy = millesime.slice(2);
  const { CODGEO: iCode } = requireColumns(label, header, ['CODGEO', `P${yy}_${keyVariable}`]) as Record<string, number>;

  // Labels from the meta file (COD_VAR;LIB_VAR;LIB_VAR_LONG;…), when the archive has one.
  const labels = new Map<string, string>();
  const meta = await readMetadata(file, zipped, /^meta_.*\.csv$/i, (b) => [`meta_${b}`]);
  if (meta?.length && 'COD_VAR' in meta[0]) {
    for (const r of meta)
      if (r.COD_VAR && !labels.has(r.COD_VAR.toUpperCase()))
        labels.set(r.COD_VAR.toUpperCase(), (r.LIB_VAR_LONG || r.LIB_VAR || '').trim());
  } else ctx.log(`${label}: no metadata file with COD_VAR/LIB_VAR: variables without labels`);
  await vars.copyRows(
    ctx.db,
    columns.map((c, i) => ({
      fichier,
      idx: i + 1,
      variable: c.variable,
      annee: c.annee,
      millesime,
      libelle: labels.get(c.variable) || null,
    })),
  );

  const width = header.length;
  const n = columns.length;
  const idxs = columns.map((c) => c.idx);
  async function* mapped(): AsyncGenerator<StagingRow<keyof typeof WIDE>> {
    for await (const { values, line } of rows) {
      ctx.counters.read++;
      let reason: string | undefined;
      let code = '';
      if (values.length !== width) reason = `expected ${width} fields, got ${values.length}`;
      else {
        try {
          code = normalizeCommuneCode(values[iCode]);
        } catch (e) {
          reason = `column CODGEO: ${(e as Error).message}`;
        }
      }
      let arr = '{';
      for (let i = 0; !reason && i < n; i++) {
        const v = values[idxs[i]];
        if (i) arr += ',';
        if (v === '') {
          arr += 'NULL';
          continue;
        }
        const t = v.indexOf(',') >= 0 ? v.trim().replace(',', '.') : v.trim();
        if (t === '') {
          arr += 'NULL';
          continue;
        }
        if (!NUMBER.test(t)) {
          reason = `column ${columns[i].variable}: not a number: '${v}'`;
          break;
        }
        arr += t;
      }
      if (reason) {
        await ctx.quarantine.add({ file: label, line, raw: values.join(';'), reason });
        continue;
      }
      ctx.counters.loaded++;
      yield { code, fichier, line, raw: values.join(';'), vals: arr + '}' };
    }
  }
  await wide.copyRows(ctx.db, mapped());
  ctx.progress.stop();
  return millesime;
}

/** A long Melodi file: GEO read as text, GEO_OBJECT COM and ARM kept, the rest accepted and skipped. */
async function loadMelodi(
  ctx: RunContext,
  file: LocalFile,
  long: StagingTable<keyof typeof LONG>,
  fallbackMillesime: string,
): Promise<void> {
  const zipped = isZip(head(file.path));
  const opened = await openText(file.path, {
    entry: zipped ? /_data\.csv$/i : undefined,
    encoding: 'auto',
    onBytes: (n) => ctx.progress.update(n),
  });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const label = opened.label;
  const fichier = label;
  const entryName = label.split('!').pop()!;
  const dataset = /^(DS_[A-Z0-9_]+?)(?:_(\d{4}))?_data\.csv$/i.exec(entryName);
  const dsId = dataset?.[1]?.toUpperCase() ?? path.basename(entryName, path.extname(entryName)).toUpperCase();
  const millesime = dataset?.[2] ?? /_(\d{4})_CSV_FR/i.exec(path.basename(file.path))?.[1] ?? fallbackMillesime;
  const { header, rows } = await readCsv(opened.text, label, { delimiter: ';' });
  const idx = requireColumns(label, header, ['GEO', 'GEO_OBJECT', 'TIME_PERIOD', 'OBS_VALUE'] as const);
  // Dimensions, parsed once: every column that is neither the key nor an attribute, in name order so that a
  // variable is named the same whatever the order of the producer's columns (INSEE's files put GEO first and
  // the dimensions in no fixed order: `GEO;GEO_OBJECT;SEX;EMPSTA_ENQ;AGE;EDUC;RP_MEASURE;FREQ;…`).
  const dims = header
    .map((h, i) => ({ name: h.toUpperCase(), i }))
    .filter((d) => !DS_ATTRIBUTES.has(d.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Labels of the modalities (metadata: COD_VAR;LIB_VAR;COD_MOD;LIB_MOD).
  const mods = new Map<string, string>();
  const meta = await readMetadata(file, zipped, /_metadata\.csv$/i, (b) => [b.replace(/_data\.csv$/i, '_metadata.csv')]);
  if (meta?.length && 'COD_MOD' in meta[0])
    for (const r of meta) if (r.COD_VAR && r.COD_MOD) mods.set(`${r.COD_VAR.toUpperCase()}=${r.COD_MOD}`, (r.LIB_MOD ?? '').trim());
  const labelCache = new Map<string, string | null>();

  const width = header.length;
  async function* mapped(): AsyncGenerator<StagingRow<keyof typeof LONG>> {
    for await (const { values, line } of rows) {
      ctx.counters.read++;
      const raw = values.join(';');
      const bad = async (reason: string) => {
        await ctx.quarantine.add({ file: label, line, raw, reason });
      };
      if (values.length !== width) {
        await bad(`expected ${width} fields, got ${values.length}`);
        continue;
      }
      const obj = values[idx.GEO_OBJECT].trim().toUpperCase();
      if (obj !== 'COM' && obj !== 'ARM') {
        ctx.counters.loaded++;
        continue;
      } // other levels: accepted, not kept
      let code: string;
      try {
        code = normalizeCommuneCode(values[idx.GEO]);
      } catch (e) {
        await bad(`column GEO: ${(e as Error).message}`);
        continue;
      }
      const year = values[idx.TIME_PERIOD].trim();
      if (!/^\d{4}$/.test(year)) {
        await bad(`column TIME_PERIOD: not a year: '${year}'`);
        continue;
      }
      const v = values[idx.OBS_VALUE].trim().replace(',', '.');
      if (v !== '' && !NUMBER.test(v)) {
        await bad(`column OBS_VALUE: not a number: '${values[idx.OBS_VALUE]}'`);
        continue;
      }
      const key = dims.map((d) => `${d.name}=${values[d.i].trim()}`).join(';');
      const variable = `${dsId}:${key}`;
      let libelle = labelCache.get(key);
      if (libelle === undefined) {
        const parts = dims.map((d) => mods.get(`${d.name}=${values[d.i].trim()}`));
        libelle = parts.every((p) => p) ? parts.join(' ; ') : null;
        labelCache.set(key, libelle);
      }
      ctx.counters.loaded++;
      yield { code, fichier, line, raw, millesime, variable, annee: Number(year), valeur: v === '' ? null : v, libelle };
    }
  }
  await long.copyRows(ctx.db, mapped());
  ctx.progress.stop();
}

async function load(ctx: RunContext): Promise<void> {
  const wide = await ctx.staging('wide', WIDE);
  const vars = await ctx.scratch('vars', VARS);
  const long = await ctx.staging('long', LONG);
  let millesime = ctx.source.millesime!;
  const pop = ctx.files.get('evol-struct-pop');
  if (pop) millesime = await loadBaseCc(ctx, pop, wide, vars, 'POP');
  const log = ctx.files.get('logement');
  if (log) {
    const m = await loadBaseCc(ctx, log, wide, vars, 'LOG');
    if (pop && m !== millesime)
      throw new FormatError(path.basename(log.path), `millésime ${m} differs from that of the population file (${millesime})`);
    millesime = m;
  }
  ctx.setMillesime(millesime);
  const ds = ctx.files.get('ds-population');
  if (ds) await loadMelodi(ctx, ds, long, millesime);
  ctx.log(`staged ${ctx.counters.loaded} rows`);
  ctx.checkpoint('after-staging');
  await publishRecensement(ctx, { wide: wide.qualified, vars: vars.qualified, long: long.qualified }, Number(millesime) + 2);
}

export const pipeline: Pipeline = { source, order: 100, load, pack };
