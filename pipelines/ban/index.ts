import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { Pool } from 'pg';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { ident } from '../../src/db/pool';
import { enrichDepartements } from '../../src/geo/enrich';
import { sibling } from '../../src/geo/polygons';
import { BAN_COLUMNS, BAN_REQUIRED, source } from './source';
import { LineChecker, BadLine } from './lines';
import { copyChunksParallel } from './copy';
import { pack } from './pack';

/** Parallel COPY streams and SQL workers (the machine has 2 cores; PostgreSQL does the parsing). */
const WORKERS = Math.max(1, Number(process.env.DOTATION_BAN_WORKERS ?? 2));

/** Published partition of a département: adresses_d_35, adresses_d_2a, adresses_d_974. */
export const partitionName = (dep: string) => `adresses_d_${dep.toLowerCase()}`;

async function firstLine(file: string): Promise<string> {
  const raw = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
  const head = await new Promise<Buffer>((resolve, reject) => {
    raw.once('readable', () => { const b = raw.read(2) as Buffer | null; resolve(b ?? Buffer.alloc(0)); });
    raw.once('error', reject);
  });
  raw.destroy();
  const input = fs.createReadStream(file);
  const stream: Readable = head[0] === 0x1f && head[1] === 0x8b ? input.pipe(zlib.createGunzip()) : input;
  let acc = '';
  try {
    for await (const c of stream) {
      acc += (c as Buffer).toString('utf8');
      const i = acc.indexOf('\n');
      if (i >= 0) return acc.slice(0, i).replace(/\r$/, '').replace(/^\uFEFF/, '');
      if (acc.length > 1 << 16) break;
    }
  } finally {
    input.destroy();
  }
  return acc.replace(/^\uFEFF/, '');
}

/** Raw bytes of the file, gunzipped when it is a gzip. */
function rawBytes(file: string, onBytes: (n: number) => void): Readable {
  const fd = fs.openSync(file, 'r');
  const magic = Buffer.alloc(2);
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  let n = 0;
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const counter = new Transform({ transform(c: Buffer, _e, cb) { n += c.length; onBytes(n); cb(null, c); } });
  input.on('error', (e) => counter.destroy(e));
  const counted = input.pipe(counter);
  if (!(magic[0] === 0x1f && magic[1] === 0x8b)) return counted;
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  counted.on('error', (e) => gunzip.destroy(e));
  return counted.pipe(gunzip);
}

/** Department named by the file (`adresses-35.csv.gz` → 35), or null for the national file. */
export function fileDepartement(file: string): string | null {
  const m = /adresses-([0-9]{2,3}|2[ab])\.csv/i.exec(path.basename(file));
  return m ? m[1].toUpperCase() : null;
}

interface Shadow { parent: string; partitions: Map<string, string> }

/** Drops shadow tables a killed run left behind (never the published partitions, never a running run's). */
async function dropOrphanShadows(db: Pool): Promise<void> {
  const { rows } = await db.query(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relname ~ '^adresses_n[0-9]+' and c.relkind in ('r', 'p')
        and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid and i.inhparent = 'adresses'::regclass)
        and not exists (select 1 from runs r where r.id = substring(c.relname from '^adresses_n([0-9]+)')::bigint and r.status = 'running'
                          and r.heartbeat_at > now() - interval '2 minutes')`,
  );
  for (const r of rows) await db.query(`drop table if exists ${ident(r.relname)} cascade`);
}

/**
 * One BAN file: bytes → gunzip → line checker → COPY (WORKERS streams) into an UNLOGGED
 * staging table → validation in SQL (quarantine) → a shadow partitioned table holding one new
 * partition per département, indexed. Publication swaps them in later.
 */
async function stageFile(ctx: RunContext, file: LocalFile, k: number, shadow: Shadow, log: Record<string, unknown>, timings: Record<string, number>, counts: Map<string, number>): Promise<void> {
  const label = path.basename(file.path);
  const expectedDep = fileDepartement(file.path);
  const header = (await firstLine(file.path)).split(';').map((h) => h.trim().replace(/^"|"$/g, ''));
  const missing = BAN_REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new FormatError(label, `missing column(s) ${missing.join(', ')} in the header (got ${header.join(';')})`);
  const known = new Set<string>(BAN_COLUMNS);
  // Unknown columns are staged under neutral names and ignored; absent known columns stay null.
  const stagedCols = header.map((h, i) => (known.has(h) && header.indexOf(h) === i ? h : `extra_${i}`));
  const cols: Record<string, string> = { line: 'bigint' };
  for (const c of stagedCols) cols[c] = 'text';
  for (const c of BAN_COLUMNS) cols[c] ??= 'text';
  const staging = await ctx.staging(`lignes_${k}`, cols);

  const bad: BadLine[] = [];
  const checker = new LineChecker(0x3b, (h) => h.length, (b) => bad.push(b));
  ctx.progress.start(`load ${label}`, file.bytes, 'bytes');
  const bytes = rawBytes(file.path, (n) => ctx.progress.update(n));
  bytes.on('error', (e) => checker.destroy(new FormatError(label, `truncated or corrupt gzip file (${e.message})`)));
  const chunks = bytes.pipe(checker);
  const sql = `COPY ${staging.qualified} (${['line', ...stagedCols].map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER false)`;
  const flushBad = async () => {
    while (bad.length) { const b = bad.shift()!; await ctx.quarantine.add({ file: label, line: b.line, raw: b.raw, reason: b.reason }); }
  };
  let t0 = Date.now();
  const step = (name: string) => { timings[name] = (timings[name] ?? 0) + (Date.now() - t0) / 1000; t0 = Date.now(); };
  await copyChunksParallel(ctx.db, sql, chunks, WORKERS, flushBad);
  await flushBad();
  ctx.progress.stop();
  ctx.counters.read += checker.good + checker.bad;
  ctx.counters.loaded += checker.good;
  step('copy_s');

  // Validation in SQL: code_insee → current commune; lon/lat numbers in range; département of the file.
  const t = staging.qualified;
  const codes = sibling(t, "_codes");
  await ctx.db.query(`create unlogged table ${codes} as
    select distinct on (code) code, code_actuel from (
      select c.code, case when c.type = 'arrondissement-municipal' then c.commune_parent else c.code end as code_actuel, 0 as prio
        from communes c where c.type in ('commune-actuelle', 'arrondissement-municipal')
      union all
      select r.code, r.code_actuel, 1 from (select code, code_actuel, count(*) over (partition by code) as nb from commune_correspondance) r where r.nb = 1
    ) x order by code, prio`);
  await ctx.db.query(`create unique index on ${codes} (code)`);
  await ctx.db.query(`analyze ${codes}`);
  const NUM = `'^-?[0-9]{1,3}(\\.[0-9]+)?$'`;
  const view = sibling(t, "_v");
  await ctx.db.query(`create view ${view} as
    select s.*, k.code_actuel, geo_departement(s.code_insee) as dep,
           case when s.code_insee is null then 'column code_insee: empty'
                when k.code is null then 'column code_insee: ''' || s.code_insee || ''' is not a current commune or arrondissement'
                when s.lon is null or s.lat is null or s.lon !~ ${NUM} or s.lat !~ ${NUM} then 'columns lon/lat: not a number (''' || coalesce(s.lon, '') || ''', ''' || coalesce(s.lat, '') || ''')'
                when s.lon::float8 not between -180 and 180 or s.lat::float8 not between -90 and 90 or (s.lon::float8 = 0 and s.lat::float8 = 0)
                  then 'columns lon/lat: out of range (' || s.lon || ', ' || s.lat || ')'
                ${expectedDep ? `when geo_departement(s.code_insee) <> '${expectedDep}' then 'column code_insee: ' || s.code_insee || ' is not in département ${expectedDep} of the file'` : ''}
           end as reason
      from ${t} s left join ${codes} k on k.code = s.code_insee`);
  try {
  // One scan counts valid rows per département and rejected rows; the quarantine scan runs only when some were rejected.
  const { rows: tally } = await ctx.db.query(
    `select dep, count(*) filter (where reason is null)::bigint as ok, count(*) filter (where reason is not null)::bigint as bad from ${view} group by dep`);
  for (const r of tally) if (Number(r.ok) > 0) counts.set(r.dep, (counts.get(r.dep) ?? 0) + Number(r.ok));
  const rejected = tally.some((r) => Number(r.bad) > 0) ? await ctx.quarantine.addFromSql(
    `select $1::text as file, line, concat_ws(';', ${BAN_COLUMNS.map((c) => `coalesce(${ident(c)}, '')`).join(', ')}) as raw, reason from ${view} where reason is not null`,
    [label],
  ) : 0;
  ctx.counters.loaded -= rejected;
  step('validation_s');

  // One partition per département of the file in the shadow table; CHECK constraints let the
  // later ATTACH to `adresses` skip its validation scan.
  const deps: string[] = tally.filter((r) => Number(r.ok) > 0).map((r) => r.dep as string).sort();
  for (const d of deps) {
    if (shadow.partitions.has(d)) throw new FormatError(label, `département ${d} is in two files of the run`);
    const p = `${shadow.parent}_${d.toLowerCase()}`;
    await ctx.db.query(`create table ${ident(p)} (like adresses, constraint ${ident(`${p}_dep`)} check (departement = '${d}'))`);
    await ctx.db.query(`alter table ${ident(shadow.parent)} attach partition ${ident(p)} for values in ('${d}')`);
    shadow.partitions.set(d, p);
  }
  const insertCols = ['departement', 'code_commune', ...BAN_COLUMNS, 'geom', 'line'];
  const select = ['dep', 'code_actuel', ...BAN_COLUMNS.map((c) => (c === 'lon' || c === 'lat' ? `${c}::float8` : ident(c))),
    'ST_SetSRID(ST_MakePoint(lon::float8, lat::float8), 4326)', 'line'];
  // Workers take disjoint sets of départements (balanced by rows): two backends appending to the
  // same partition would contend on its extension lock.
  const buckets: { deps: string[]; rows: number }[] = Array.from({ length: Math.min(WORKERS, deps.length) }, () => ({ deps: [], rows: 0 }));
  for (const r of [...tally].filter((t) => Number(t.ok) > 0).sort((a, b) => Number(b.ok) - Number(a.ok))) {
    const b = buckets.reduce((m, x) => (x.rows < m.rows ? x : m), buckets[0]);
    b.deps.push(r.dep); b.rows += Number(r.ok);
  }
  const inserted = await Promise.all(buckets.map((b) => ctx.db.query(
    `insert into ${ident(shadow.parent)} (${insertCols.map(ident).join(', ')})
     select ${select.join(', ')} from ${view} where reason is null and dep = any($1::text[])`,
    [b.deps],
  )));
  const n = inserted.reduce((s, r) => s + (r.rowCount ?? 0), 0);
  step('insertion_s');
  if (n !== ctx.counters.loaded - Number(log.loadedBefore ?? 0)) {
    // A valid row of a département absent from the referential list: cannot happen (codes come from it), but never lose rows silently.
    throw new Error(`BAN ${label}: ${n} rows inserted, ${ctx.counters.loaded - Number(log.loadedBefore ?? 0)} expected`);
  }
  log[label] = { lignes: checker.good + checker.bad, rejetees_noeud: checker.bad, rejetees_sql: rejected, inserees: n };
  } finally {
    await ctx.db.query(`drop view if exists ${view}`);
    await ctx.db.query(`drop table if exists ${codes}`);
  }
}

/** Builds the indexes of the shadow partitions (WORKERS at a time) and analyzes them. */
async function finishShadow(ctx: RunContext, shadow: Shadow): Promise<void> {
  const queue = [...shadow.partitions.entries()];
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const [, p] = job;
      await ctx.db.query(`create index ${ident(`${p}_code_commune`)} on ${ident(p)} (code_commune)`);
      await ctx.db.query(`analyze ${ident(p)} (code_commune)`); // reltuples + the pack key; the geometry histogram is costly
    }
  }));
}

function dataDate(files: LocalFile[]): string {
  const dates = files.map((f) => (f.lastModified ? new Date(f.lastModified) : fs.statSync(f.path).mtime)).filter((d) => !Number.isNaN(d.getTime()));
  const max = dates.length ? new Date(Math.max(...dates.map((d) => d.getTime()))) : new Date();
  return max.toISOString().slice(0, 10);
}

async function load(ctx: RunContext): Promise<void> {
  let files = [...ctx.files.values()];
  if (!files.length) throw new MissingResourceError('ban: no BAN file (adresses-{dep}.csv.gz or adresses-france.csv.gz) in the mirror, none downloaded');
  const france = files.find((f) => f.resource === 'france');
  if (france && files.length > 1) {
    ctx.log(`the national file is present: the ${files.length - 1} département file(s) are ignored`);
    files = [france];
  }
  const millesime = dataDate(files);
  ctx.setMillesime(millesime);
  await dropOrphanShadows(ctx.db);
  const shadow: Shadow = { parent: `adresses_n${ctx.runId}`, partitions: new Map() };
  await ctx.db.query(`create table ${ident(shadow.parent)} (like adresses) partition by list (departement)`);
  const log: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  const counts = new Map<string, number>();
  const lap = (name: string, t: number) => { timings[name] = (Date.now() - t) / 1000; };
  try {
    for (const [k, f] of files.entries()) {
      log.loadedBefore = ctx.counters.loaded;
      await stageFile(ctx, f, k, shadow, log, timings, counts);
    }
    delete log.loadedBefore;
    let t = Date.now();
    await finishShadow(ctx, shadow);
    lap('index_s', t);
    t = Date.now();
    ctx.checkpoint('after-staging');
    const fichier = Object.fromEntries(files.map((f) => [fileDepartement(f.path) ?? '*', path.basename(f.path)]));
    await ctx.publish(millesime, async (tx) => {
      let n = 0;
      for (const [d, p] of shadow.partitions) {
        const published = partitionName(d);
        await tx.query(`alter table ${ident(shadow.parent)} detach partition ${ident(p)}`);
        const { rowCount } = await tx.query(`select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'adresses'::regclass and c.relname = $1`, [published]);
        if (rowCount) {
          await tx.query(`alter table adresses detach partition ${ident(published)}`);
          await tx.query(`drop table ${ident(published)}`);
        } else await tx.query(`drop table if exists ${ident(published)}`);
        await tx.query(`alter table ${ident(p)} rename to ${ident(published)}`);
        await tx.query(`alter index ${ident(`${p}_code_commune`)} rename to ${ident(`${published}_code_commune`)}`);
        await tx.query(`alter table ${ident(published)} rename constraint ${ident(`${p}_dep`)} to ${ident(`${published}_dep`)}`);
        await tx.query(`alter table adresses attach partition ${ident(published)} for values in ('${d}')`);
        const rows = counts.get(d) ?? 0;
        await tx.query(
          `insert into adresses_departements (departement, run_id, fichier, rows, published_at, enrich_digest, enriched_at)
           values ($1, $2, $3, $4, now(), null, null)
           on conflict (departement) do update set run_id = excluded.run_id, fichier = excluded.fichier, rows = excluded.rows,
             published_at = excluded.published_at, enrich_digest = null, enriched_at = null`,
          [d, ctx.runId, fichier[d] ?? fichier['*'], rows],
        );
        n += rows;
      }
      return n;
    }, { departements: [...shadow.partitions.keys()], fichiers: log });
    lap('publication_s', t);
    t = Date.now();
    // Addresses changed in these départements: (re)attach IRIS and QPV codes.
    const enriched = await enrichDepartements(ctx.db, [...shadow.partitions.keys()]);
    lap('enrichment_s', t);
    const updated = enriched.reduce((s, e) => s + e.updated, 0);
    if (enriched.length) ctx.log(`enrichment (IRIS, QPV) of ${enriched.length} département(s): ${updated} address(es) updated`);
    ctx.log(`timings (s): ${Object.entries(timings).map(([k, v]) => `${k.replace(/_s$/, '')} ${v.toFixed(1)}`).join(', ')}`);
  } finally {
    await ctx.db.query(`drop table if exists ${ident(shadow.parent)} cascade`).catch(() => undefined);
  }
}

export const pipeline: Pipeline = { source, order: 30, load, pack };
