import path from 'node:path';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { isZip, readHead, zipEntries } from '../../src/engine/decode';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { parseEdition } from '../../src/engine/edition';
import { mergeFileEditions, replaceSnapshot, type FileEdition } from '../../src/engine/snapshot';
import type { StagingTable } from '../../src/engine/staging';
import { recode } from '../../src/communes/recode';
import { stagePostcodes } from '../../src/communes/postcodes';
import { writeSlices } from '../../src/packs/slices';
import { address, clean, fileDepartement, rnaDate, rnaTimestamp } from './read';
import { source } from './source';
import { pack, THEME_OF } from './pack';

const STAGING = {
  code: 'text',
  code_postal: 'text',
  par_code_postal: 'boolean',
  registre: 'text',
  departement_fichier: 'text',
  id: 'text',
  id_ex: 'text',
  siret: 'text',
  titre: 'text',
  titre_court: 'text',
  objet: 'text',
  objet_social1: 'text',
  objet_social2: 'text',
  date_creation: 'date',
  date_declaration: 'date',
  date_publication: 'date',
  date_dissolution: 'date',
  position: 'text',
  nature: 'text',
  groupement: 'text',
  adresse: 'text',
  libelle_commune: 'text',
  site_web: 'text',
  maj: 'timestamp',
  dates_illisibles: 'text',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
};
type Col = keyof typeof STAGING;

/** Columns both files have; a file without one of them is not an RNA extract. */
const REQUIRED = ['id', 'titre', 'adrs_codeinsee', 'position'] as const;
/** Every other column is optional, read by name where the file has it (waldec: 39 columns; import: about 24). */
const OPTIONAL = [
  'id_ex',
  'siret',
  'titre_court',
  'objet',
  'objet_social1',
  'objet_social2',
  'date_creat',
  'date_decla',
  'date_publi',
  'date_disso',
  'nature',
  'groupement',
  'adrs_complement',
  'adrs_numvoie',
  'adrs_repetition',
  'adrs_typevoie',
  'adrs_libvoie',
  'adrs_distrib',
  'adrs_codepostal',
  'adrs_libcommune',
  'adr1',
  'adr2',
  'adr3',
  'libcom',
  'siteweb',
  'maj_time',
] as const;
type Optional = (typeof OPTIONAL)[number];

/** The CSV entries of one resource: every `.csv` of its ZIP, or the file itself. */
async function entriesOf(file: LocalFile): Promise<{ entry?: string; name: string }[]> {
  if (!isZip(readHead(file.path))) return [{ name: path.basename(file.path) }];
  const csv = (await zipEntries(file.path)).filter((e) => /\.csv$/i.test(e)).sort();
  if (!csv.length) throw new FormatError(path.basename(file.path), 'no .csv entry in the archive (expected one CSV per département)');
  return csv.map((e) => ({ entry: e, name: e.split('/').pop()! }));
}

async function stageEntry(
  ctx: RunContext,
  file: LocalFile,
  entry: { entry?: string; name: string },
  staging: StagingTable<Col>,
): Promise<void> {
  const registre = file.resource;
  const departement = fileDepartement(entry.name);
  let idx: Record<Optional, number> | undefined;
  await loadCsv(ctx, {
    file,
    entry: entry.entry,
    encoding: 'auto',
    // Names typed by hand hold stray quotes (`LES "AMIS" DU…`): kept as text, never a failed national load.
    dialect: { delimiter: ';', relaxQuotes: true },
    staging,
    required: REQUIRED,
    row: (get, line, values, header) => {
      idx ??= Object.fromEntries(OPTIONAL.map((k) => [k, header.findIndex((h) => h.trim().toLowerCase() === k)])) as Record<
        Optional,
        number
      >;
      const opt = (k: Optional) => (idx![k] < 0 ? '' : clean(values[idx![k]]));
      const id = clean(get('id')).toUpperCase();
      if (!id) return reject('no RNA number', 'id');
      const code = clean(get('adrs_codeinsee')).toUpperCase();
      if (code && !/^(\d{5}|2[AB]\d{3})$/.test(code)) return reject(`'${get('adrs_codeinsee')}' is not a commune code`, 'adrs_codeinsee');
      const unreadable: string[] = [];
      const date = (k: Optional) => {
        const d = rnaDate(opt(k));
        if (d === undefined) unreadable.push(`${k}=${opt(k)}`);
        return d ?? null;
      };
      // An update time that is not one is reported with the dates, not silently dropped.
      const majTime = opt('maj_time');
      if (rnaDate(majTime) === undefined) unreadable.push(`maj_time=${majTime}`);
      const waldec = idx.adrs_libvoie >= 0;
      return {
        code: code || null,
        code_postal: opt('adrs_codepostal') || null,
        par_code_postal: false,
        registre,
        departement_fichier: departement,
        id,
        id_ex: opt('id_ex') || null,
        siret: opt('siret') || null,
        titre: clean(get('titre')),
        titre_court: opt('titre_court') || null,
        objet: opt('objet') || null,
        objet_social1: opt('objet_social1') || null,
        objet_social2: opt('objet_social2') || null,
        date_creation: date('date_creat'),
        date_declaration: date('date_decla'),
        date_publication: date('date_publi'),
        date_dissolution: date('date_disso'),
        position: clean(get('position')).toUpperCase() || null,
        nature: opt('nature') || null,
        groupement: opt('groupement') || null,
        adresse: waldec
          ? address(
              [opt('adrs_numvoie'), opt('adrs_repetition'), opt('adrs_typevoie'), opt('adrs_libvoie')],
              [opt('adrs_complement'), opt('adrs_distrib')],
            )
          : address([], [opt('adr1'), opt('adr2'), opt('adr3')]),
        libelle_commune: opt('adrs_libcommune') || opt('libcom') || null,
        site_web: opt('siteweb') || null,
        maj: rnaTimestamp(majTime),
        dates_illisibles: unreadable.length ? unreadable.join(', ') : null,
        line,
        raw: values.join(';'),
      };
    },
  });
}

/** The edition of one file: its name's date (`rna_waldec_20261001`), else `--millesime`, else its latest update time. */
async function editionOf(ctx: RunContext, file: LocalFile, staging: StagingTable<Col>): Promise<FileEdition> {
  const fichier = path.basename(file.path);
  if (file.edition) {
    parseEdition(file.edition);
    return { edition: file.edition, from: file.editionFrom ?? 'resource', fichier };
  }
  const {
    rows: [r],
  } = await ctx.db.query(
    `select to_char(max(maj)::date, 'YYYY-MM-DD') as d from ${staging.qualified} where registre = $1 and maj::date <= current_date`,
    [file.resource],
  );
  if (!r?.d)
    throw new MissingResourceError(
      `${fichier}: no date of extract (not in its name, no --millesime, no maj_time): give it with --millesime YYYY-MM-DD`,
    );
  ctx.log(`${fichier}: no date in its name; edition = the latest update (maj_time) of the file, ${r.d}`);
  return { edition: r.d, from: 'content (latest maj_time)', fichier };
}

/**
 * A siège without `adrs_codeinsee`: its commune is the one its postcode belongs to when exactly one
 * commune (or arrondissement municipal, rather than its city) has that postcode; other rows are
 * quarantined with the reason.
 */
async function fillFromPostcode(ctx: RunContext, staging: StagingTable<Col>): Promise<void> {
  const cp = await stagePostcodes(ctx);
  const { rowCount } = await ctx.db.query(
    `update ${staging.qualified} s set code = c.code, par_code_postal = true
       from ${cp} c where s.code is null and c.code_postal = s.code_postal and c.nb = 1`,
  );
  if (rowCount) ctx.log(`${rowCount} siège(s) without adrs_codeinsee placed by their postcode (one commune has it)`);
  await ctx.rejectStaged(
    `select s.fichier as file, s.line, s.raw,
            'column adrs_codeinsee: empty, and ' || case when s.code_postal is null then 'no postcode either'
              when c.nb is null then 'postcode ' || s.code_postal || ' is no commune''s'
              else 'postcode ' || s.code_postal || ' is shared by ' || c.nb || ' communes' end as reason
       from ${staging.qualified} s left join ${cp} c on c.code_postal = s.code_postal where s.code is null`,
  );
  await ctx.db.query(`delete from ${staging.qualified} where code is null`);
}

async function load(ctx: RunContext): Promise<void> {
  const files = ['waldec', 'import'].map((r) => ctx.files.get(r)).filter((f): f is LocalFile => !!f);
  if (!files.length)
    throw new MissingResourceError(
      'associations: neither rna_waldec_YYYYMMDD.zip nor rna_import_YYYYMMDD.zip was found (MIRROR_DIR, download or --file)',
    );
  const staging = await ctx.staging('rna', STAGING);
  /** What each file replaces: its whole register (a ZIP), or one département of it (one CSV). */
  const scope: { registre: string; departement: string | null }[] = [];
  for (const f of files) {
    const entries = await entriesOf(f);
    for (const e of entries) await stageEntry(ctx, f, e, staging);
    const whole = isZip(readHead(f.path));
    if (!whole && !fileDepartement(entries[0].name))
      throw new FormatError(
        entries[0].name,
        'a single CSV must name its département (rna_waldec_YYYYMMDD_dpt_XX.csv): it replaces that département only',
      );
    scope.push({ registre: f.resource, departement: whole ? null : fileDepartement(entries[0].name) });
  }
  ctx.checkpoint('after-staging');

  const {
    rows: [illisibles],
  } = await ctx.db.query(
    `select count(*)::int as n, (array_agg(fichier || ' line ' || line || ': ' || dates_illisibles order by fichier, line))[1:5] as exemples
       from ${staging.qualified} where dates_illisibles is not null`,
  );
  if (illisibles.n)
    ctx.log(`${illisibles.n} association(s) with a date that is not one, kept with that date unknown: ${illisibles.exemples.join('; ')}`);

  // The same RNA number twice in one register: the most recently updated line is kept.
  const dup = `select ctid, id, fichier, line, raw, first_value(fichier || ' line ' || line) over w as gardee, row_number() over w as rang
                 from ${staging.qualified} window w as (partition by registre, id order by maj desc nulls last, fichier, line)`;
  await ctx.rejectStaged(
    `select fichier as file, line, raw, 'column id: RNA number ' || id || ' again; the line kept is ' || gardee || ' (latest maj_time)' as reason
       from (${dup}) d where rang > 1`,
  );
  await ctx.db.query(`delete from ${staging.qualified} where ctid in (select ctid from (${dup}) d where rang > 1)`);

  await fillFromPostcode(ctx, staging);
  // Sièges keep the code of the year they were declared in: every code INSEE ever valid is followed
  // to today's commune (1943: the first year of the COG's movements). Paris, Lyon and Marseille are
  // given by arrondissement: a row of its own and one in the city.
  const { map } = await recode(ctx, staging, {
    cog: 1943,
    column: 'adrs_codeinsee',
    split: 'keep-on-code',
    plm: 'both',
    overlap: 'keep-all',
  });

  const previous = await ctx.db.query(
    `select details from published_datasets where source = 'associations' order by edition_key desc limit 1`,
  );
  const loaded: Record<string, FileEdition> = {};
  for (const f of files) loaded[f.resource] = await editionOf(ctx, f, staging);
  const { editions, millesime } = mergeFileEditions(previous.rows[0]?.details?.editions ?? {}, loaded);
  ctx.setMillesime(millesime);

  await ctx.publish(
    millesime,
    async (tx) => {
      await replaceSnapshot(tx, 'associations', millesime);
      for (const s of scope)
        await tx.query(`delete from association where registre = $1 and ($2::text is null or departement_fichier = $2)`, [
          s.registre,
          s.departement,
        ]);
      const { rowCount } = await tx.query(
        `insert into association (code_commune, type, registre, departement_fichier, id, id_ex, siret, titre, titre_court, objet, objet_social1, objet_social2,
                                  date_creation, date_declaration, date_publication, date_dissolution, position, nature, groupement, adresse, code_postal,
                                  libelle_commune, code_source, par_code_postal, site_web, maj, fichier, ligne)
         select m.code_actuel, m.type, s.registre, s.departement_fichier, s.id, s.id_ex, s.siret, s.titre, s.titre_court, s.objet, s.objet_social1, s.objet_social2,
                s.date_creation, s.date_declaration, s.date_publication, s.date_dissolution, s.position, s.nature, s.groupement, s.adresse, s.code_postal,
                s.libelle_commune, s.code, s.par_code_postal, s.site_web, s.maj, s.fichier, s.line
           from ${staging.qualified} s join ${map} m on m.code = s.code`,
      );
      // Counts and slices from the whole table (a département loaded alone leaves the others as they were);
      // an association in both registers counts once, from the waldec file.
      await tx.query(`delete from association_compte`);
      await tx.query(
        `insert into association_compte (code_commune, theme, actives, dissoutes, autres)
         select code_commune, ${THEME_OF('objet_social1')}, count(*) filter (where position = 'A'), count(*) filter (where position = 'D'),
                count(*) filter (where position is distinct from 'A' and position is distinct from 'D')
           from (${UNIQUE}) a group by 1, 2`,
      );
      await writeSlices(
        tx,
        'associations',
        `select code_commune as code, md5(string_agg(concat_ws('|', id, id_ex, siret, titre, titre_court, objet, objet_social1, objet_social2, date_creation,
                  date_declaration, date_publication, date_dissolution, position, adresse, code_postal, libelle_commune, code_source, site_web, registre),
                  E'\\n' order by id)) as version
           from (${UNIQUE}) a group by code_commune`,
      );
      return rowCount ?? 0;
    },
    { editions, fichiers: files.map((f) => path.basename(f.path)) },
  );
}

/** One row per commune and RNA number: the waldec line when the association is in both registers. */
const UNIQUE = `select distinct on (code_commune, id) * from association order by code_commune, id, (registre = 'waldec') desc, maj desc nulls last`;

export const pipeline: Pipeline = { source, order: 100, load, pack };
