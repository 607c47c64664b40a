import path from 'node:path';
import type { Pipeline, RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import { FormatError } from '../../src/engine/errors';
import { EditionError } from '../../src/engine/edition';
import { normalizeCommuneCode, normalizeDepartement, departementOf, CommuneCodeError } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { source, quarterOf } from './source';
import { pack } from './pack';

const STAGING = {
  code: 'text',
  code_op: 'text',
  nom_op: 'text',
  num_site: 'text',
  t2g: 'boolean',
  t3g: 'boolean',
  t4g: 'boolean',
  t5g: 'boolean',
  fichier: 'text',
  line: 'bigint',
  raw: 'text',
  erreur: 'text',
};

/** Operators of the metropolitan file, by MCC-MNC, when nom_op is empty. */
export const OPERATORS: Record<string, string> = { '20801': 'Orange', '20810': 'SFR', '20815': 'Free Mobile', '20820': 'Bouygues Telecom' };

export const REQUIRED = ['code_op', 'nom_op', 'num_site', 'insee_dep', 'insee_com', 'site_2g', 'site_3g', 'site_4g', 'site_5g'] as const;
type Col = (typeof REQUIRED)[number];

function flag(v: string): boolean | undefined {
  const s = v.trim();
  if (s === '1') return true;
  if (s === '0') return false;
  return undefined;
}

/** Maps one site row to staging, or rejects it with the column at fault. */
function mapRow(get: (k: Col) => string, line: number, values: string[], fichier: string) {
  const rawCode = get('insee_com').trim();
  if (!rawCode) return reject('empty commune code', 'insee_com');
  let code: string;
  try {
    code = normalizeCommuneCode(rawCode);
  } catch (e) {
    if (e instanceof CommuneCodeError) return reject(e.message, 'insee_com');
    throw e;
  }
  const dep = get('insee_dep').trim();
  if (dep) {
    let d: string;
    try {
      d = normalizeDepartement(dep);
    } catch (e) {
      return reject((e as Error).message, 'insee_dep');
    }
    if (d !== departementOf(code)) return reject(`département '${dep}' disagrees with commune ${code}`, 'insee_dep');
  }
  const codeOp = get('code_op').trim();
  if (!/^\d{5}$/.test(codeOp)) return reject(`not an operator code (MCC-MNC, 5 digits): '${codeOp}'`, 'code_op');
  const nomOp = get('nom_op').trim() || OPERATORS[codeOp];
  if (!nomOp) return reject(`no operator name for code ${codeOp}`, 'nom_op');
  const numSite = get('num_site').trim();
  if (!numSite) return reject('empty site number', 'num_site');
  const techs: Partial<Record<'t2g' | 't3g' | 't4g' | 't5g', boolean>> = {};
  for (const k of ['site_2g', 'site_3g', 'site_4g', 'site_5g'] as const) {
    const f = flag(get(k));
    if (f === undefined) return reject(`expected 0 or 1, got '${get(k)}'`, k);
    techs[`t${k.slice(5)}` as 't2g' | 't3g' | 't4g' | 't5g'] = f;
  }
  return { code, code_op: codeOp, nom_op: nomOp, num_site: numSite, ...techs, fichier, line, raw: values.join(';') };
}

async function loadFile(ctx: RunContext, file: LocalFile, staging: Awaited<ReturnType<RunContext['staging']>>): Promise<string> {
  const fichier = path.basename(file.path);
  const { label } = await loadCsv(ctx, {
    file,
    entry: /_sites_(metropole|outremer)\.csv$/i,
    encoding: 'utf8',
    dialect: { delimiter: ';' },
    staging,
    required: REQUIRED,
    row: (get, line, values) => mapRow(get, line, values, fichier),
  });
  return label;
}

async function load(ctx: RunContext): Promise<void> {
  const files = [ctx.files.get('metropole'), ctx.files.get('outremer')].filter((f): f is LocalFile => !!f);
  // The quarter is in the upstream file name (2024_T3_sites_Metropole.csv); every file of a run must agree.
  const quarters = new Set(files.map((f) => quarterOf(path.basename(f.path))).filter((q): q is string => !!q));
  if (quarters.size > 1)
    throw new FormatError(
      files.map((f) => path.basename(f.path)).join(', '),
      `files of different quarters (${[...quarters].join(', ')}): load them one quarter at a time`,
    );
  // Else the operator states it (--millesime); a file nobody dates is refused, never given the declared quarter.
  const millesime = [...quarters][0] ?? files.find((f) => f.edition)?.edition;
  if (!millesime)
    throw new EditionError(
      `${path.basename(files[0].path)}: no quarter (AAAA_Tn) in the file name: give it with --millesime, e.g. --millesime 2026_T1`,
    );
  ctx.setMillesime(millesime);
  const cog = Number(millesime.slice(0, 4));
  const staging = await ctx.staging('sites', STAGING);
  for (const f of files) await loadFile(ctx, f, staging);
  ctx.checkpoint('after-staging');
  await publishSites(ctx, staging.qualified, millesime, cog);
}

/**
 * SQL checks after staging (duplicate site, code unknown to the COG, split commune), then one
 * publishing transaction: sites counted per current commune × operator × technology.
 */
async function publishSites(ctx: RunContext, t: string, millesime: string, cog: number): Promise<void> {
  await ctx.db.query(`create index on ${t} (code)`);
  // The same site listed twice (same operator and site number): the later lines are quarantined.
  await ctx.db.query(
    `update ${t} s set erreur = 'column num_site: site ' || s.num_site || ' of operator ' || s.code_op || ' already listed at line ' || d.first
       from (select code_op, num_site, fichier, min(line) as first from ${t} group by code_op, num_site, fichier having count(*) > 1) d
      where s.code_op = d.code_op and s.num_site = d.num_site and s.fichier = d.fichier and s.line > d.first`,
  );
  await ctx.rejectStaged(`select fichier as file, line, raw, erreur as reason from ${t} where erreur is not null`);
  // Sites are objects: each is counted once, under its current commune (and its arrondissement).
  const { map } = await recode(ctx, t, {
    cog,
    column: 'insee_com',
    split: 'keep-on-code',
    splitReason: 'sites cannot be assigned',
    plm: 'both',
    overlap: 'keep-all',
    where: 's.erreur is null',
  });

  await ctx.publish(
    millesime,
    async (tx) => {
      await tx.query(`delete from arcep_sites where millesime = $1`, [millesime]);
      const { rowCount } = await tx.query(
        `with keyed as (
              select m.code_actuel as code_commune, m.type, s.code, s.code_op, s.nom_op, s.num_site, s.t2g, s.t3g, s.t4g, s.t5g
                from ${t} s join ${map} m on m.code = s.code
               where s.erreur is null
            ),
            long as (
              select k.code_commune, k.type, k.code, k.code_op, k.nom_op, k.num_site, x.tech, x.present
                from keyed k cross join lateral (values ('2G', k.t2g), ('3G', k.t3g), ('4G', k.t4g), ('5G', k.t5g), ('tous', true)) x(tech, present)
            )
       insert into arcep_sites (millesime, code_commune, type, code_op, operateur, technologie, sites, codes_sources)
       select $1, code_commune, min(type), code_op, min(nom_op), tech, count(distinct num_site) filter (where present),
              array_agg(distinct code order by code)
         from long group by code_commune, code_op, tech`,
        [millesime],
      );
      return rowCount ?? 0;
    },
    { cog, trimestre: millesime },
  );
}

export const pipeline: Pipeline = { source, order: 150, load, pack };
