import path from 'node:path';
import { parse as parseLine } from 'csv-parse/sync';
import type { LocalFile, RunContext } from '../../src/engine/pipeline';
import { openText, mixedEncodingNote } from '../../src/engine/decode';
import { columnFinder } from '../../src/engine/columns';
import { FormatError } from '../../src/engine/errors';
import { textLines } from '../../src/engine/lines';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode } from '../../src/communes/codes';

/**
 * The Annuaire Santé's `ps-libreacces-personne-activite` file (≈ 760 MB, ≈ 2 million lines):
 * streamed line by line (never whole in memory), split on `|` in Node, and only the columns
 * needed for the counts are copied into staging — never a name, a phone number or an address
 * (data minimisation: the pack publishes counts). A line whose field count differs from the
 * header's is parsed again as CSV (a quoted field holding `|`), else quarantined.
 */
export const ACTIVITE_STAGING = {
  code: 'text',
  pp: 'text',
  profession: 'text',
  libelle_profession: 'text',
  categorie: 'text',
  type_sf: 'text',
  code_sf: 'text',
  libelle_sf: 'text',
  mode: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};

/** Columns read, by the names the ANS gives them (compared without case, accents or punctuation). */
const COLS = {
  pp: ['Identifiant PP'],
  profession: ['Code profession'],
  libelleProfession: ['Libellé profession'],
  categorie: ['Code catégorie professionnelle'],
  typeSf: ['Code type savoir-faire'],
  codeSf: ['Code savoir-faire'],
  libelleSf: ['Libellé savoir-faire'],
  mode: ['Code mode exercice'],
  commune: ['Code commune (coord. structure)', 'Code commune (coord. Structure)'],
} as const;
const REQUIRED = ['pp', 'profession', 'commune'] as const;

export interface RppsRead {
  fichier: string;
  /** Lines read with no commune of practice (no structure, or abroad): counted, not staged. */
  sansCommune: number;
}

/** Stages one RPPS personne-activité file. */
export async function stageRpps(ctx: RunContext, file: LocalFile, staging: StagingTable<keyof typeof ACTIVITE_STAGING>): Promise<RppsRead> {
  const fichier = path.basename(file.path);
  const opened = await openText(file.path, { encoding: 'auto', onBytes: (n) => ctx.progress.update(n) });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  let sansCommune = 0;
  let width = 0;
  let idx: Record<keyof typeof COLS, number> | undefined;
  async function* mapped(): AsyncGenerator<StagingRow<keyof typeof ACTIVITE_STAGING>> {
    for await (const { line, text } of textLines(opened.text)) {
      if (!idx) {
        const header = text.split('|').map((h) => h.trim());
        // A trailing `|` ends every line, the header's too: the last, empty name is no column.
        if (header.at(-1) === '') header.pop();
        const find = columnFinder(header);
        idx = Object.fromEntries(Object.entries(COLS).map(([k, names]) => [k, find(...names)])) as Record<keyof typeof COLS, number>;
        const missing = REQUIRED.filter((k) => idx![k] < 0).map((k) => COLS[k][0]);
        if (missing.length) throw new FormatError(fichier, `missing column(s) ${missing.join(', ')} (header: ${header.join('|')})`, line);
        width = header.length;
        continue;
      }
      ctx.counters.read++;
      let values = text.split('|');
      if (values.at(-1) === '' && values.length === width + 1) values.pop();
      if (values.length !== width && text.includes('"')) {
        try {
          values = (parseLine(text, { delimiter: '|', relax_quotes: true }) as string[][])[0] ?? [];
          if (values.at(-1) === '' && values.length === width + 1) values.pop();
        } catch {
          /* counted below */
        }
      }
      if (values.length !== width) {
        // The line holds a person's name and contact: it is not copied, the file and line say where it is.
        await ctx.quarantine.add({
          file: fichier,
          line,
          raw: '(line not copied: it holds personal data)',
          reason: `expected ${width} fields, got ${values.length}`,
        });
        continue;
      }
      const at = (k: keyof typeof COLS) => (idx![k] >= 0 ? values[idx![k]].trim() : '');
      const commune = at('commune');
      if (!commune) {
        // No place of practice in France with a commune code: not an error, not countable in a commune.
        sansCommune++;
        ctx.counters.loaded++;
        continue;
      }
      const pp = at('pp');
      const profession = at('profession');
      // What is kept of the line for the quarantine: the columns read, never the person's name.
      const kept = [pp, profession, at('typeSf'), at('codeSf'), at('mode'), commune].join('|');
      if (!pp || !profession) {
        await ctx.quarantine.add({ file: fichier, line, raw: kept, reason: `column ${!pp ? COLS.pp[0] : COLS.profession[0]}: empty` });
        continue;
      }
      let code: string;
      try {
        code = normalizeCommuneCode(commune);
      } catch (e) {
        await ctx.quarantine.add({ file: fichier, line, raw: kept, reason: `column ${COLS.commune[0]}: ${(e as Error).message}` });
        continue;
      }
      ctx.counters.loaded++;
      yield {
        code,
        pp,
        profession,
        libelle_profession: at('libelleProfession') || null,
        categorie: at('categorie') || null,
        type_sf: at('typeSf') || null,
        code_sf: at('codeSf') || null,
        libelle_sf: at('libelleSf') || null,
        mode: at('mode') || null,
        fichier,
        line,
        raw: kept,
      };
    }
  }
  await staging.copyRows(ctx.db, mapped());
  ctx.progress.stop();
  if (!idx) throw new FormatError(fichier, 'empty file: no header line');
  const mixed = mixedEncodingNote(fichier, opened.stats);
  if (mixed) ctx.log(mixed);
  return { fichier, sansCommune };
}
