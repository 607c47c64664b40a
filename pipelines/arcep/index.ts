import path from 'node:path';
import type { Pipeline, RunContext, LocalFile } from '../../src/engine/pipeline';
import { loadCsv, reject } from '../../src/engine/load-csv';
import type { PoolClient } from 'pg';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { EditionError } from '../../src/engine/edition';
import { normalizeCommuneCode, normalizeDepartement, departementOf, CommuneCodeError } from '../../src/communes/codes';
import { recode } from '../../src/communes/recode';
import { source, quarterOf } from './source';
import { pack } from './pack';
import { COVERAGE_STAGING, stageCoverage, checkCoverage, publishCoverage } from './couverture';

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

/** The quarter of a run's files of one resource kind: from their names, else --millesime; all must agree. */
function quarterOfFiles(files: LocalFile[]): string {
  // The quarter is in the upstream file name (2024_T3_sites_Metropole.csv, 2023T3_op_communes.csv); the files must agree.
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
  return millesime;
}

/**
 * Coverage per commune (the main table) and sites, each from its own files: staged and checked,
 * then one publishing transaction per quarter replacing, for that quarter, only the tables whose
 * files the run holds (coverage without sites, or sites without coverage, load alone).
 */
async function load(ctx: RunContext): Promise<void> {
  const coverage = ctx.files.get('couverture');
  const siteFiles = [ctx.files.get('metropole'), ctx.files.get('outremer')].filter((f): f is LocalFile => !!f);
  if (!coverage && !siteFiles.length)
    throw new MissingResourceError(
      'arcep: neither a coverage file (AAAATn_op_communes.csv) nor a sites file (AAAA_Tn_sites_Metropole.csv) was found (MIRROR_DIR, download or --file)',
    );
  const siteQuarter = siteFiles.length ? quarterOfFiles(siteFiles) : undefined;
  const coverageQuarter = coverage ? quarterOfFiles([coverage]) : undefined;

  let sites: { staging: string; map: string } | undefined;
  if (siteFiles.length) {
    const staging = await ctx.staging('sites', STAGING);
    for (const f of siteFiles) await loadFile(ctx, f, staging);
    sites = { staging: staging.qualified, map: await checkSites(ctx, staging.qualified, Number(siteQuarter!.slice(0, 4))) };
  }
  let cov: { staging: string; map: string; fichier: string } | undefined;
  if (coverage) {
    const staging = await ctx.staging('couverture', COVERAGE_STAGING);
    const fichier = await stageCoverage(ctx, coverage, staging);
    cov = { staging: staging.qualified, map: await checkCoverage(ctx, staging, Number(coverageQuarter!.slice(0, 4))), fichier };
  }
  ctx.checkpoint('after-staging');

  const quarters = [...new Set([coverageQuarter, siteQuarter].filter((q): q is string => !!q))].sort();
  for (const q of quarters) {
    const withSites = sites && siteQuarter === q ? sites : undefined;
    const withCoverage = cov && coverageQuarter === q ? cov : undefined;
    ctx.log(`quarter ${q}: ${[withCoverage && 'coverage', withSites && 'sites'].filter(Boolean).join(' and ')}`);
    await ctx.publish(
      q,
      async (tx) => {
        let n = 0;
        // Sites first: operator names of the coverage rows fall back on the sites' names.
        if (withSites) n += await publishSites(tx, withSites.staging, withSites.map, q);
        if (withCoverage) n += await publishCoverage(tx, withCoverage.staging, withCoverage.map, q, OPERATORS);
        return n;
      },
      {
        cog: Number(q.slice(0, 4)),
        trimestre: q,
        tables: [withCoverage && 'arcep_couverture', withSites && 'arcep_sites'].filter(Boolean),
        ...(withCoverage ? { couverture: withCoverage.fichier } : {}),
      },
    );
  }
  ctx.setMillesime(quarters[quarters.length - 1]);
}

/** SQL checks after staging (duplicate site, code unknown to the COG, split commune); returns the commune map. */
async function checkSites(ctx: RunContext, t: string, cog: number): Promise<string> {
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
  return map;
}

/** Replaces the quarter's sites (inside the publishing transaction): counted per current commune × operator × technology. */
async function publishSites(tx: PoolClient, t: string, map: string, millesime: string): Promise<number> {
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
}

export const pipeline: Pipeline = { source, order: 150, load, pack };
