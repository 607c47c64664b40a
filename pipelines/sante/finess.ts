import path from 'node:path';
import type { LocalFile, RunContext } from '../../src/engine/pipeline';
import { openText, mixedEncodingNote } from '../../src/engine/decode';
import { readCsv, parseDecimal, INVALID } from '../../src/engine/csv';
import { FormatError } from '../../src/engine/errors';
import { formatEdition, parseEdition } from '../../src/engine/edition';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode } from '../../src/communes/codes';

/**
 * The FINESS geolocated establishments file (etalab-cs1100507): line 1 names the extract, then
 * `structureet` and `geolocalisation` records, positional (the producer's format: 32 and 6
 * fields). Read with csv-parse (quoted fields hold `;` and `""`), each record type to its
 * staging table; the join, the projection and the re-coding are done in SQL.
 */

/** Names of the 32 fields of a `structureet` record, in order (the producer's format). */
const STRUCTUREET = [
  'structureet',
  'nofinesset',
  'nofinessej',
  'rs',
  'rslongue',
  'complrs',
  'compldistrib',
  'numvoie',
  'typvoie',
  'voie',
  'compvoie',
  'lieuditbp',
  'commune',
  'departement',
  'libdepartement',
  'ligneacheminement',
  'telephone',
  'telecopie',
  'categetab',
  'libcategetab',
  'categagretab',
  'libcategagretab',
  'siret',
  'codeape',
  'codemft',
  'libmft',
  'codesph',
  'libsph',
  'dateouv',
  'dateautor',
  'datemaj',
  'numuai',
] as const;
/** Names of the 6 fields of a `geolocalisation` record. */
const GEOLOCALISATION = ['geolocalisation', 'nofinesset', 'coordxet', 'coordyet', 'sourcecoordet', 'datemaj'] as const;

export const STRUCTURE_STAGING = {
  code: 'text',
  nofinesset: 'text',
  nofinessej: 'text',
  nom: 'text',
  categorie: 'text',
  libelle_categorie: 'text',
  categorie_agregee: 'text',
  libelle_categorie_agregee: 'text',
  adresse: 'text',
  code_postal: 'text',
  libelle_acheminement: 'text',
  telephone: 'text',
  siret: 'text',
  date_ouverture: 'date',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
export const GEO_STAGING = {
  code: 'text',
  nofinesset: 'text',
  x: 'float8',
  y: 'float8',
  epsg: 'int',
  source_coordonnees: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};

/**
 * FINESS département of the overseas territories → first digits of their codes INSEE
 * (9A Guadeloupe 971…, 9D La Réunion 974, 9F Mayotte 976; 9J Wallis-et-Futuna 986): the
 * commune part of the record carries the rest (`9D` + `411` → 97411, `9J` + `613` → 98613).
 */
function finessCommune(departement: string, commune: string): string {
  const d = departement.trim().toUpperCase();
  const c = commune.trim();
  if (!/^\d{3}$/.test(c)) throw new Error(`commune part '${commune}' is not 3 digits`);
  if (/^9[A-I]$/.test(d)) return normalizeCommuneCode(`97${c}`);
  if (d === '9J') return normalizeCommuneCode(`98${c}`);
  if (!/^(\d{2}|2[AB])$/.test(d)) throw new Error(`département '${departement}' is not a FINESS département`);
  return normalizeCommuneCode(`${d}${c}`);
}

/**
 * FINESS keeps Saint-Barthélemy and Saint-Martin under Guadeloupe with their codes of before
 * 2007 (97123, 97127); the COG's movements do not lead from those to today's collectivités.
 */
const FORMER_COM: Record<string, string> = { '97123': '97701', '97127': '97801' };

/** `2,ATLASANTE,53,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)` → 2154; the names some older lines use. */
function epsgOf(source: string): number | null {
  const m = /EPSG\s*:?\s*(\d{4,5})/i.exec(source);
  if (m) return Number(m[1]);
  if (/lambert[\s_-]*93/i.test(source)) return 2154;
  return null;
}

/** `2026-05-12` or `12/05/2026` (older extracts) → ISO, empty → null. */
function finessDate(raw: string): string | null {
  const s = raw.trim();
  if (!s) return null;
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) {
    const f = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
    if (f) m = [s, f[3], f[2], f[1]] as unknown as RegExpExecArray;
  }
  if (!m || Number.isNaN(Date.parse(`${m[1]}-${m[2]}-${m[3]}`))) throw new Error(`not a date: '${raw}'`);
  return `${m[1]}-${m[2]}-${m[3]}`;
}

export interface FinessRead {
  /** The extract's date from line 1 (`finess;etalab;111;2026-05-12`). */
  edition: string;
  fichier: string;
}

/** Stages one FINESS file; returns the date its first line states. */
export async function stageFiness(
  ctx: RunContext,
  file: LocalFile,
  structures: StagingTable<keyof typeof STRUCTURE_STAGING>,
  geo: StagingTable<keyof typeof GEO_STAGING>,
): Promise<FinessRead> {
  const fichier = path.basename(file.path);
  const opened = await openText(file.path, { encoding: 'auto', onBytes: (n) => ctx.progress.update(n) });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const { rows } = await readCsv(opened.text, fichier, { delimiter: ';', header: false, relaxQuotes: true });
  let edition: string | undefined;
  const geoRows: StagingRow<keyof typeof GEO_STAGING>[] = [];
  const flushGeo = async () => {
    if (geoRows.length) await geo.copyRows(ctx.db, geoRows.splice(0));
  };
  async function* mapped(): AsyncGenerator<StagingRow<keyof typeof STRUCTURE_STAGING>> {
    for await (const { values, line } of rows) {
      const raw = values.join(';');
      if (line === 1 || (edition === undefined && values[0] === 'finess')) {
        // The extract's own line: not a record.
        if (values[0] !== 'finess' || !/^\d{4}-\d{2}-\d{2}$/.test(values[3] ?? ''))
          throw new FormatError(
            fichier,
            `line 1 is not 'finess;etalab;<n>;<date>' (got '${raw.slice(0, 80)}'): not a FINESS etalab file`,
            line,
          );
        edition = values[3];
        continue;
      }
      ctx.counters.read++;
      const bad = (reason: string) => ctx.quarantine.add({ file: fichier, line, raw, reason });
      const kind = values[0];
      if (kind === 'structureet') {
        if (values.length !== STRUCTUREET.length) {
          await bad(`structureet record: expected ${STRUCTUREET.length} fields, got ${values.length}`);
          continue;
        }
        const v = Object.fromEntries(STRUCTUREET.map((k, i) => [k, (values[i] ?? '').trim()])) as Record<
          (typeof STRUCTUREET)[number],
          string
        >;
        if (!/^[0-9][0-9A-Z][0-9]{7}$/.test(v.nofinesset)) {
          await bad(`column nofinesset: not a FINESS number: '${v.nofinesset}'`);
          continue;
        }
        let code: string;
        let ouverture: string | null;
        try {
          code = finessCommune(v.departement, v.commune);
          code = FORMER_COM[code] ?? code;
        } catch (e) {
          await bad(`columns departement/commune: ${(e as Error).message}`);
          continue;
        }
        try {
          ouverture = finessDate(v.dateouv);
        } catch (e) {
          await bad(`column dateouv: ${(e as Error).message}`);
          continue;
        }
        ctx.counters.loaded++;
        const cp = /^(\d{5})\s/.exec(v.ligneacheminement);
        yield {
          code,
          nofinesset: v.nofinesset,
          nofinessej: v.nofinessej || null,
          nom: v.rslongue || v.rs || null,
          categorie: v.categetab || null,
          libelle_categorie: v.libcategetab || null,
          categorie_agregee: v.categagretab || null,
          libelle_categorie_agregee: v.libcategagretab || null,
          adresse: [[v.numvoie, v.typvoie, v.voie, v.compvoie].filter(Boolean).join(' '), v.lieuditbp].filter(Boolean).join(', ') || null,
          code_postal: cp ? cp[1] : null,
          libelle_acheminement: v.ligneacheminement || null,
          telephone: v.telephone || null,
          siret: v.siret || null,
          date_ouverture: ouverture,
          fichier,
          line,
          raw,
        };
      } else if (kind === 'geolocalisation') {
        if (values.length !== GEOLOCALISATION.length) {
          await bad(`geolocalisation record: expected ${GEOLOCALISATION.length} fields, got ${values.length}`);
          continue;
        }
        const [, nofinesset, cx, cy, src] = values.map((s) => s.trim());
        const x = parseDecimal(cx);
        const y = parseDecimal(cy);
        if (x === INVALID || y === INVALID || x === null || y === null) {
          await bad(`columns coordxet/coordyet: not coordinates: '${cx}', '${cy}'`);
          continue;
        }
        ctx.counters.loaded++;
        geoRows.push({ nofinesset, x, y, epsg: epsgOf(src), source_coordonnees: src || null, fichier, line, raw });
        if (geoRows.length >= 5000) await flushGeo();
      } else {
        await bad(`unknown record type '${kind.slice(0, 40)}' (expected structureet or geolocalisation)`);
      }
    }
  }
  await structures.copyRows(ctx.db, mapped());
  await flushGeo();
  ctx.progress.stop();
  const mixed = mixedEncodingNote(fichier, opened.stats);
  if (mixed) ctx.log(mixed);
  if (!edition) throw new FormatError(fichier, 'empty file: no first line naming the extract');
  return { edition: formatEdition(parseEdition(edition)), fichier };
}
