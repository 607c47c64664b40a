import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { openText } from '../../src/engine/decode';
import { MissingResourceError } from '../../src/engine/errors';
import { parseEdition } from '../../src/engine/edition';
import { mergeFileEditions, replaceSnapshot, type FileEdition } from '../../src/engine/snapshot';
import type { StagingTable } from '../../src/engine/staging';
import { recode } from '../../src/communes/recode';
import { writeSlices } from '../../src/packs/slices';
import { rneCommune, rneDate, sniffDelimiter } from './read';
import { source } from './source';
import { pack } from './pack';

const STAGING = {
  code: 'text',
  mandat: 'text',
  libelle_commune: 'text',
  nom: 'text',
  prenom: 'text',
  sexe: 'text',
  date_naissance: 'date',
  code_csp: 'text',
  libelle_csp: 'text',
  date_debut_mandat: 'date',
  fonction: 'text',
  date_debut_fonction: 'date',
  code_nationalite: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
type Col = keyof typeof STAGING;

/** Upstream column names (both files); `fonction` and `nationalite` are in the conseillers file only. */
const C = {
  commune: 'Code de la commune',
  libelle: 'Libellé de la commune',
  nom: "Nom de l'élu",
  prenom: "Prénom de l'élu",
  sexe: 'Code sexe',
  naissance: 'Date de naissance',
  csp: 'Code de la catégorie socio-professionnelle',
  cspLibelle: 'Libellé de la catégorie socio-professionnelle',
  mandat: 'Date de début du mandat',
  fonction: 'Libellé de la fonction',
  debutFonction: 'Date de début de la fonction',
  nationalite: 'Code nationalité',
} as const;
const REQUIRED = [C.commune, C.nom, C.prenom, C.sexe, C.naissance, C.mandat] as const;

/** Which mandate each resource lists. */
const MANDAT: Record<string, 'maire' | 'conseiller'> = { maires: 'maire', conseillers: 'conseiller' };

/** The first line of a text file (its header), read without reading the rest. */
async function headerLine(file: string): Promise<string> {
  const { text } = await openText(file, { encoding: 'auto' });
  let head = '';
  for await (const chunk of text) {
    head += String(chunk);
    if (/\r|\n/.test(head)) break;
  }
  text.destroy();
  return head.split(/\r?\n|\r/)[0];
}

/** The year an extract was made, for two-digit years: its edition when known, else this year. */
function extractYear(file: LocalFile): number {
  const m = /^(\d{4})/.exec(file.edition ?? '');
  return m ? Number(m[1]) : new Date().getUTCFullYear();
}

async function stageFile(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<string> {
  const mandat = MANDAT[file.resource];
  const fichier = path.basename(file.path);
  const delimiter = sniffDelimiter(await headerLine(file.path));
  const year = extractYear(file);
  let idx: Partial<Record<string, number>> | undefined;
  const { label } = await loadCsv(ctx, {
    file,
    encoding: 'auto',
    dialect: { delimiter },
    staging,
    required: REQUIRED,
    row: (get, line, values, header) => {
      idx ??= Object.fromEntries(Object.values(C).map((c) => [c, header.findIndex((h) => h.trim().toLowerCase() === c.toLowerCase())]));
      const opt = (c: string) => {
        const i = idx![c];
        return i === undefined || i < 0 ? '' : (values[i] ?? '').trim();
      };
      let code: string;
      try {
        code = rneCommune(get(C.commune));
      } catch (e) {
        return reject((e as Error).message, C.commune);
      }
      if (!get(C.nom).trim()) return reject('empty name', C.nom);
      const dates: Partial<Record<Col, string | null>> = {};
      for (const [col, name, latest] of [
        ['date_naissance', C.naissance, year - 18],
        ['date_debut_mandat', C.mandat, year],
        ['date_debut_fonction', C.debutFonction, year],
      ] as const) {
        try {
          dates[col] = rneDate(opt(name), latest);
        } catch (e) {
          return reject((e as Error).message, name);
        }
      }
      const sexe = get(C.sexe).trim().toUpperCase();
      if (sexe && sexe !== 'M' && sexe !== 'F') return reject(`sex code '${get(C.sexe)}' is neither M nor F`, C.sexe);
      return {
        code,
        mandat,
        libelle_commune: opt(C.libelle),
        nom: get(C.nom).trim(),
        prenom: get(C.prenom).trim(),
        sexe: sexe || null,
        code_csp: opt(C.csp) || null,
        libelle_csp: opt(C.cspLibelle) || null,
        fonction: opt(C.fonction) || null,
        code_nationalite: opt(C.nationalite) || null,
        ...dates,
        fichier,
        line,
        raw: values.join(delimiter),
      };
    },
  });
  return label;
}

/**
 * The edition of one file: what its resource says (the timestamp folder of its URL, or
 * `--millesime`), else the latest date it holds (a lower bound of the extract's date, stated so).
 */
async function extractOf(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<FileEdition> {
  const fichier = path.basename(file.path);
  if (file.edition) {
    parseEdition(file.edition);
    return { edition: file.edition, from: file.editionFrom ?? 'resource', fichier };
  }
  const {
    rows: [r],
  } = await ctx.db.query(
    `select to_char(max(d), 'YYYY-MM-DD') as d from (
       select greatest(date_debut_mandat, date_debut_fonction) as d from ${staging.qualified} where mandat = $1) x
      where d <= current_date`,
    [MANDAT[file.resource]],
  );
  if (!r?.d)
    throw new MissingResourceError(
      `${fichier}: no date of extract (no URL, no --millesime, no mandate date in the file): give it with --millesime YYYY-MM-DD`,
    );
  ctx.log(`${fichier}: the date of the extract is not known; edition = the latest mandate or function start in the file, ${r.d}`);
  return { edition: r.d, from: 'content (latest start of a mandate or function)', fichier };
}

async function load(ctx: RunContext): Promise<void> {
  const files = ['maires', 'conseillers'].map((r) => ctx.files.get(r)).filter((f): f is LocalFile => !!f);
  if (!files.length)
    throw new MissingResourceError(
      'elus: neither elus-maires-mai.csv nor elus-conseillers-municipaux-cm.csv was found (MIRROR_DIR, download or --file)',
    );
  const staging = await ctx.staging('elus', STAGING);
  for (const f of files) await stageFile(ctx, f, staging);
  ctx.checkpoint('after-staging');

  // Each file keeps its own date; the source's edition is the latest of the files now published
  // (a file loaded alone with --file leaves the other one, and its date, as they were).
  const previous = await ctx.db.query(`select details from published_datasets where source = 'elus' order by edition_key desc limit 1`);
  const extracts: Record<string, FileEdition> = {};
  for (const f of files) extracts[f.resource] = await extractOf(ctx, f, staging);
  const { editions: merged, millesime } = mergeFileEditions(previous.rows[0]?.details?.extraits ?? {}, extracts);
  ctx.setMillesime(millesime);

  // The same élu twice with the same function in one file: the later line is a duplicate.
  const dup = `select ctid, fichier, line, raw, first_value(line) over w as premiere, row_number() over w as rang
                 from ${staging.qualified}
               window w as (partition by mandat, code, nom, prenom, date_naissance, fonction order by line)`;
  await ctx.rejectStaged(
    `select fichier as file, line, raw, 'same élu (name, first name, date of birth) and function as line ' || premiere as reason
       from (${dup}) d where rang > 1`,
  );
  await ctx.db.query(`delete from ${staging.qualified} where ctid in (select ctid from (${dup}) d where rang > 1)`);

  // Codes are those of the register's day: a commune merged since (or a code never in the COG:
  // Nouvelle-Calédonie, Polynésie) is re-coded or quarantined with its reason.
  const cog = Math.max(...Object.values(extracts).map((e) => Number(e.edition.slice(0, 4))));
  const { map } = await recode(ctx, staging, { cog, column: C.commune, split: 'keep-on-code', plm: 'keep', overlap: 'keep-all' });

  const mandats = files.map((f) => MANDAT[f.resource]);
  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'elus', millesime);
      await tx.query(`delete from elu_municipal where mandat = any($1::text[])`, [mandats]);
      const { rowCount } = await tx.query(
        `insert into elu_municipal (mandat, code_commune, type, code_source, libelle_commune, nom, prenom, sexe, date_naissance, code_csp, libelle_csp,
                                    date_debut_mandat, fonction, date_debut_fonction, code_nationalite, fichier, ligne)
         select s.mandat, m.code_actuel, m.type, s.code, s.libelle_commune, s.nom, s.prenom, s.sexe, s.date_naissance, s.code_csp, s.libelle_csp,
                s.date_debut_mandat, s.fonction, s.date_debut_fonction, s.code_nationalite, s.fichier, s.line
           from ${staging.qualified} s join ${map} m on m.code = s.code`,
      );
      await writeSlices(
        tx,
        'elus',
        `select code_commune as code, md5(string_agg(concat_ws('|', mandat, nom, prenom, sexe, date_naissance, code_csp, libelle_csp,
                  date_debut_mandat, fonction, date_debut_fonction, code_nationalite), E'\\n' order by mandat, nom, prenom, date_naissance, fonction)) as version
           from elu_municipal group by code_commune`,
      );
      return rowCount ?? 0;
    },
    { cog, extraits: merged },
  );
}

export const pipeline: Pipeline = { source, order: 100, load, pack };
