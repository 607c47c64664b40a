import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { openText, mixedEncodingNote } from '../../src/engine/decode';
import { readCsv, parseCount, parseDecimal, INVALID } from '../../src/engine/csv';
import { columnFinder } from '../../src/engine/columns';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { formatEdition, parseEdition } from '../../src/engine/edition';
import { replaceSnapshot } from '../../src/engine/snapshot';
import type { StagingRow, StagingTable } from '../../src/engine/staging';
import { normalizeCommuneCode } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { writeSlices } from '../../src/packs/slices';
import { LISTED_YEARS, source } from './source';
import { pack } from './pack';

const STAGING = {
  code: 'text',
  numero: 'text',
  type_autorisation: 'text',
  etat: 'text',
  date_autorisation: 'date',
  date_chantier: 'date',
  date_achevement: 'date',
  adresse: 'text',
  code_postal: 'text',
  parcelles: 'text',
  nature_projet: 'text',
  destination: 'text',
  logements: 'int',
  individuels: 'int',
  collectifs: 'int',
  surface_habitable: 'numeric',
  demandeur: 'text',
  siren_demandeur: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
type Col = keyof typeof STAGING;

/** Columns by their codes (line 2), with the spellings of the older files (`Num_DAU`, `NATURE_PROJET`). */
const COLS = {
  comm: ['COMM'],
  numero: ['NUM_DAU', 'Num_DAU'],
  type: ['TYPE_DAU', 'Type_DAU'],
  etat: ['ETAT_DAU', 'Etat_DAU'],
  autorisation: ['DATE_REELLE_AUTORISATION'],
  chantier: ['DATE_REELLE_DOC'],
  achevement: ['DATE_REELLE_DAACT'],
  num: ['ADR_NUM_TER'],
  typeVoie: ['ADR_TYPEVOIE_TER'],
  voie: ['ADR_LIBVOIE_TER'],
  lieuDit: ['ADR_LIEUDIT_TER'],
  cp: ['ADR_CODPOST_TER'],
  sec1: ['SEC_CADASTRE1'],
  num1: ['NUM_CADASTRE1'],
  sec2: ['SEC_CADASTRE2'],
  num2: ['NUM_CADASTRE2'],
  sec3: ['SEC_CADASTRE3'],
  num3: ['NUM_CADASTRE3'],
  nature: ['NATURE_PROJET_DECLAREE', 'NATURE_PROJET'],
  destination: ['DESTINATION_PRINCIPALE'],
  logements: ['NB_LGT_TOT_CREES'],
  individuels: ['NB_LGT_IND_CREES'],
  collectifs: ['NB_LGT_COL_CREES'],
  surface: ['SURF_HAB_CREEE'],
  demandeur: ['DENOM_DEM'],
  siren: ['SIREN_DEM'],
} as const;
const REQUIRED = ['comm', 'numero', 'autorisation', 'logements'] as const;

/** `2024-03-15`, `2024-03-15 00:00:00` or `15/03/2024` → ISO; empty → null. */
function sitadelDate(raw: string): string | null {
  const s = raw.trim();
  if (!s) return null;
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T][\d:.]+)?$/.exec(s);
  if (!m) {
    const f = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
    if (f) m = [s, f[3], f[2], f[1]] as unknown as RegExpExecArray;
  }
  if (!m || Number.isNaN(Date.parse(`${m[1]}-${m[2]}-${m[3]}`))) throw new Error(`not a date: '${raw}'`);
  return `${m[1]}-${m[2]}-${m[3]}`;
}

/**
 * The edition: the month of the file's name (`….2026-08.csv`), or --millesime; a download whose
 * name says nothing takes the month of the data.gouv.fr resource's last modification, said so.
 */
function editionOf(ctx: RunContext, file: LocalFile): { edition: string; from: string } {
  const fichier = path.basename(file.path);
  if (file.edition) {
    const e = parseEdition(/^\d{4}-\d{2}-\d{2}$/.test(file.edition) ? file.edition.slice(0, 7) : file.edition);
    return { edition: formatEdition(e), from: file.editionFrom ?? 'resource' };
  }
  const modified = file.upstream?.lastModified;
  if (modified && /^\d{4}-\d{2}/.test(modified)) {
    ctx.log(`${fichier}: no month in the name; edition = the month of the resource's last modification on data.gouv.fr`);
    return { edition: modified.slice(0, 7), from: 'last_modified' };
  }
  throw new MissingResourceError(
    `${fichier}: the month of the extract is not in the name (Liste-des-autorisations-durbanisme-creant-des-logements.YYYY-MM.csv): give it with --millesime YYYY-MM`,
  );
}

async function stage(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<void> {
  const fichier = path.basename(file.path);
  const opened = await openText(file.path, { encoding: 'auto', onBytes: (n) => ctx.progress.update(n) });
  ctx.progress.start(`load ${file.resource}`, opened.size, 'bytes');
  const { rows } = await readCsv(opened.text, fichier, { delimiter: ';', header: false, relaxQuotes: true });
  let idx: Record<keyof typeof COLS, number> | undefined;
  let width = 0;
  let headerLine = 0;
  async function* mapped(): AsyncGenerator<StagingRow<Col>> {
    for await (const { values, line } of rows) {
      if (!idx) {
        // Line 1 holds the long labels, line 2 the codes: the header is the first line naming COMM and NUM_DAU.
        const find = columnFinder(values);
        if (find(...COLS.comm) >= 0 && find(...COLS.numero) >= 0) {
          idx = Object.fromEntries(Object.entries(COLS).map(([k, names]) => [k, find(...names)])) as Record<keyof typeof COLS, number>;
          const missing = REQUIRED.filter((k) => idx![k] < 0).map((k) => COLS[k][0]);
          if (missing.length) throw new FormatError(fichier, `missing column(s) ${missing.join(', ')} (header: ${values.join(';')})`, line);
          width = values.length;
          headerLine = line;
          continue;
        }
        if (line >= 2)
          throw new FormatError(fichier, `neither line 1 nor line 2 names the columns COMM and NUM_DAU: not a Sitadel list`, line);
        continue;
      }
      ctx.counters.read++;
      const raw = values.join(';');
      const bad = (reason: string) => ctx.quarantine.add({ file: fichier, line, raw, reason });
      if (values.length !== width) {
        await bad(`expected ${width} fields, got ${values.length}`);
        continue;
      }
      const at = (k: keyof typeof COLS) => (idx![k] >= 0 ? (values[idx![k]] ?? '').trim() : '');
      let code: string;
      try {
        code = normalizeCommuneCode(at('comm'));
      } catch (e) {
        await bad(`column COMM: ${(e as Error).message}`);
        continue;
      }
      const numero = at('numero');
      if (!numero) {
        await bad('column NUM_DAU: empty');
        continue;
      }
      const dates: Partial<Record<Col, string | null>> = {};
      let refused: string | undefined;
      for (const [col, k, name] of [
        ['date_autorisation', 'autorisation', 'DATE_REELLE_AUTORISATION'],
        ['date_chantier', 'chantier', 'DATE_REELLE_DOC'],
        ['date_achevement', 'achevement', 'DATE_REELLE_DAACT'],
      ] as const) {
        try {
          dates[col] = sitadelDate(at(k));
        } catch (e) {
          refused ??= `column ${name}: ${(e as Error).message}`;
        }
      }
      const counts: Partial<Record<Col, number | null>> = {};
      for (const [col, k, name] of [
        ['logements', 'logements', 'NB_LGT_TOT_CREES'],
        ['individuels', 'individuels', 'NB_LGT_IND_CREES'],
        ['collectifs', 'collectifs', 'NB_LGT_COL_CREES'],
      ] as const) {
        const v = parseCount(at(k));
        if (v === INVALID) refused ??= `column ${name}: not a whole number: '${at(k)}'`;
        else counts[col] = v;
      }
      const surface = parseDecimal(at('surface'));
      if (surface === INVALID) refused ??= `column SURF_HAB_CREEE: not a number: '${at('surface')}'`;
      if (refused) {
        await bad(refused);
        continue;
      }
      ctx.counters.loaded++;
      const parcelles = (
        [
          ['sec1', 'num1'],
          ['sec2', 'num2'],
          ['sec3', 'num3'],
        ] as const
      )
        .map(([s, n]) => (at(s) || at(n) ? `${at(s)} ${at(n)}`.trim() : ''))
        .filter(Boolean)
        .join(', ');
      yield {
        code,
        numero,
        type_autorisation: at('type') || null,
        etat: at('etat') || null,
        ...dates,
        adresse: [[at('num'), at('typeVoie'), at('voie')].filter(Boolean).join(' '), at('lieuDit')].filter(Boolean).join(', ') || null,
        code_postal: at('cp') || null,
        parcelles: parcelles || null,
        nature_projet: at('nature') || null,
        destination: at('destination') || null,
        ...counts,
        surface_habitable: surface as number | null,
        demandeur: at('demandeur') || null,
        siren_demandeur: at('siren') || null,
        fichier,
        line,
        raw,
      };
    }
  }
  await staging.copyRows(ctx.db, mapped());
  ctx.progress.stop();
  if (!idx) throw new FormatError(fichier, 'no header line naming COMM and NUM_DAU');
  const mixed = mixedEncodingNote(fichier, opened.stats);
  if (mixed) ctx.log(mixed);
  if (headerLine !== 2) ctx.log(`${fichier}: the header is line ${headerLine} (the SDES's files put it on line 2)`);
}

async function load(ctx: RunContext): Promise<void> {
  const file = ctx.files.get('logements')!;
  const fichier = path.basename(file.path);
  const { edition, from } = editionOf(ctx, file);
  ctx.setMillesime(edition);
  ctx.log(`${fichier}: edition ${edition} (${from})`);
  const staging = await ctx.staging('logements', STAGING);
  await stage(ctx, file, staging);
  ctx.checkpoint('after-staging');

  // One line per authorisation: a repeated number is quarantined (the first is kept).
  const dup = `select ctid, fichier, line, raw, first_value(line) over w as premiere, row_number() over w as rang
                 from ${staging.qualified} window w as (partition by numero order by line)`;
  await ctx.rejectStaged(`select fichier as file, line, raw, 'same NUM_DAU as line ' || premiere as reason from (${dup}) d where rang > 1`);
  await ctx.db.query(`delete from ${staging.qualified} where ctid in (select ctid from (${dup}) d where rang > 1)`);

  // Codes of the month of the file: communes merged since are re-coded (authorisations are objects).
  const cog = Number(edition.slice(0, 4));
  const { map } = await recode(ctx, staging, {
    cog,
    column: 'COMM',
    split: 'keep-on-code',
    splitReason: 'its authorisations cannot be assigned',
    plm: 'both',
    overlap: 'keep-all',
  });
  const firstListed = `${cog - LISTED_YEARS + 1}-01-01`;

  await ctx.publish(
    edition,
    async (tx) => {
      await replaceSnapshot(tx, 'permis-construire', edition);
      await tx.query(`delete from permis_logements_annee`);
      await tx.query(`delete from permis_construire`);
      const years = await tx.query(
        `insert into permis_logements_annee (code_commune, type, annee, logements_autorises, dont_individuels, dont_collectifs, autorisations, logements_commences)
         select code_actuel, type, annee, sum(aut)::int, sum(ind)::int, sum(col)::int, sum(n)::int, sum(com)::int from (
           select m.code_actuel, m.type, extract(year from s.date_autorisation)::int as annee, coalesce(s.logements, 0) as aut,
                  coalesce(s.individuels, 0) as ind, coalesce(s.collectifs, 0) as col, 1 as n, 0 as com
             from ${staging.qualified} s join ${map} m on m.code = s.code where s.date_autorisation is not null
           union all
           select m.code_actuel, m.type, extract(year from s.date_chantier)::int, 0, 0, 0, 0, coalesce(s.logements, 0)
             from ${staging.qualified} s join ${map} m on m.code = s.code where s.date_chantier is not null
         ) x group by code_actuel, type, annee`,
      );
      const list = await tx.query(
        `insert into permis_construire (code_commune, type, code_source, numero, type_autorisation, etat, date_autorisation, date_chantier,
                date_achevement, adresse, code_postal, parcelles, nature_projet, destination, logements, individuels, collectifs, surface_habitable,
                demandeur, siren_demandeur, fichier, ligne)
         select m.code_actuel, m.type, s.code, s.numero, s.type_autorisation, s.etat, s.date_autorisation, s.date_chantier, s.date_achevement,
                s.adresse, s.code_postal, s.parcelles, s.nature_projet, s.destination, s.logements, s.individuels, s.collectifs, s.surface_habitable,
                s.demandeur, s.siren_demandeur, s.fichier, s.line
           from ${staging.qualified} s join ${map} m on m.code = s.code
          where s.date_autorisation >= $1::date`,
        [firstListed],
      );
      await writeSlices(
        tx,
        'permis-construire',
        `select code, md5(string_agg(r, E'\\n' order by r)) as version from (
           select code_commune as code, concat_ws('|', 'a', annee, logements_autorises, dont_individuels, dont_collectifs, autorisations, logements_commences) as r
             from permis_logements_annee
           union all
           select code_commune, concat_ws('|', 'p', numero, type_autorisation, etat, date_autorisation, date_chantier, date_achevement, adresse, code_postal,
                  parcelles, nature_projet, destination, logements, individuels, collectifs, surface_habitable, demandeur, siren_demandeur)
             from permis_construire) x group by code`,
      );
      return (years.rowCount ?? 0) + (list.rowCount ?? 0);
    },
    { cog, fichier, edition_lue: from, premiere_annee_listee: cog - LISTED_YEARS + 1 },
  );
}

export const pipeline: Pipeline = { source, order: 182, load, pack };
