import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { settings } from '../../config/settings';
import type { LocalFile, Pipeline, RunContext } from '../../src/engine/pipeline';
import { FormatError, MissingResourceError } from '../../src/engine/errors';
import { EditionError } from '../../src/engine/edition';
import { openBytes } from '../../src/engine/decode';
import { ident } from '../../src/db/pool';
import { copyEnriched, departementsWithPolygons, enrichDepartements } from '../../src/geo/enrich';
import { currentCommuneLookup } from '../../src/communes/recode';
import { BAN_COLUMNS, BAN_REQUIRED, source } from './source';
import { BanSplitter, BadLine } from './lines';
import { DepartementLanes } from './copy';
import { pack } from './pack';

/** Parallel COPY streams and SQL workers (the machine has 2 cores; PostgreSQL does the parsing). */
/** Départements parsed and copied at once (settings: DOTATION_BAN_WORKERS). */
const workers = () => settings().DOTATION_BAN_WORKERS;

/** Published partition of a département: adresses_d_35, adresses_d_2a, adresses_d_974. */
export const partitionName = (dep: string) => `adresses_d_${dep.toLowerCase()}`;

/** The header line of a file (gunzipped when it is a gzip), within the line bound. */
async function firstLine(file: string, maxLineBytes: number): Promise<string> {
  const { bytes } = await openBytes(file, { maxLineBytes });
  const parts: Buffer[] = [];
  try {
    for await (const c of bytes) {
      const chunk = c as Buffer;
      const i = chunk.indexOf(0x0a);
      parts.push(i < 0 ? chunk : chunk.subarray(0, i));
      if (i >= 0) break;
    }
  } finally {
    bytes.destroy();
  }
  return Buffer.concat(parts)
    .toString('utf8')
    .replace(/\r$/, '')
    .replace(/^\uFEFF/, '');
}

/** Department named by the file (`adresses-35.csv.gz` → 35), or null for the national file. */
export function fileDepartement(file: string): string | null {
  const m = /adresses-([0-9]{2,3}|2[ab])\.csv/i.exec(path.basename(file));
  return m ? m[1].toUpperCase() : null;
}

interface Shadow {
  /** Prefix of the run's new tables: `adresses_n<run>`; a département's is `adresses_n<run>_<dep>`. */
  prefix: string;
  /** Département → new table (plain, shaped like a partition of `adresses`, CHECK on its département). */
  partitions: Map<string, string>;
  /** Département → file that filled it. */
  owner: Map<string, string>;
  /** Column definitions of `adresses` (from the catalog), geom generated from lon/lat. */
  columns: string;
  /** The same with a plain geometry (the table an enriched département is copied into). */
  plainColumns: string;
  /** Column names of `adresses`, in order. */
  names: string[];
  /**
   * Départements having IRIS or QPV polygons when the load started: their COPY goes to an
   * UNLOGGED raw table (`<table>_raw`), whose rows are then copied once into the new table with
   * their code_iris and code_qp (src/geo/enrich.ts `copyEnriched`) before its index is built.
   */
  enrich: Set<string>;
  /** Département → its raw table (enriched départements). */
  raw: Map<string, string>;
  /** Département → digest of the polygons its rows were enriched with (null: mixed, re-run after publication). */
  digests: Map<string, string | null>;
}

/**
 * Drops shadow tables (`adresses_n<run>_…`) of runs no longer running (never the published
 * partitions, never a running run's); with `runId`, only that run's (the reaper's call, as soon
 * as the run is known dead).
 */
async function dropOrphanShadows(db: Pool | PoolClient, runId?: number): Promise<void> {
  const { rows } = await db.query(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relname ~ '^adresses_n[0-9]+_' and c.relkind in ('r', 'p')
        and ($1::bigint is null or substring(c.relname from '^adresses_n([0-9]+)_')::bigint = $1)
        and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid and i.inhparent = 'adresses'::regclass)
        and not exists (select 1 from runs r where r.id = substring(c.relname from '^adresses_n([0-9]+)_')::bigint and r.status = 'running')`,
    [runId ?? null],
  );
  for (const r of rows) await db.query(`drop table if exists ${ident(r.relname)} cascade`);
}

/**
 * Column definitions of `adresses` as in the catalog (type, collation, not null): with the
 * geometry generated from lon/lat, and plain; and the column names.
 */
async function partitionColumns(db: Pool, point: string): Promise<{ columns: string; plainColumns: string; names: string[] }> {
  const { rows } = await db.query(
    `select a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
            case when a.attcollation <> 0 and a.attcollation <> t.typcollation then (select quote_ident(collname) from pg_collation where oid = a.attcollation) end as coll
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = 'adresses'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
  );
  // The geometry is computed by the backend during the COPY; the column keeps its place so the
  // new table has the partitioned table's exact layout (no tuple conversion once attached).
  const def = (r: { attname: string; type: string; coll: string | null; attnotnull: boolean }) =>
    `${ident(r.attname)} ${r.type}${r.coll ? ` collate ${r.coll}` : ''}${r.attnotnull ? ' not null' : ''}`;
  return {
    columns: rows.map((r) => def(r) + (r.attname === 'geom' ? ` generated always as (${point}) stored` : '')).join(', '),
    plainColumns: rows.map(def).join(', '),
    names: rows.map((r) => r.attname as string),
  };
}

/** Bytes of the file after its header line. */
async function* afterHeader(bytes: Readable): AsyncGenerator<Buffer> {
  let inHeader = true;
  for await (const c of bytes) {
    let chunk = c as Buffer;
    if (inHeader) {
      const i = chunk.indexOf(0x0a);
      if (i < 0) continue;
      inHeader = false;
      chunk = chunk.subarray(i + 1);
    }
    if (chunk.length) yield chunk;
  }
}

/**
 * One BAN file, in one pass: bytes → gunzip → splitter (field count, quotes, code_insee, lon/lat
 * checked in Node; bad lines to the quarantine with their line number) → COPY, over WORKERS
 * lanes, straight into one new plain table per département shaped like its partition (the
 * geometry is a generated column during the COPY, turned into a plain column afterwards; a
 * CHECK constraint matches the partition bound). Publication attaches them later.
 */
async function stageFile(
  ctx: RunContext,
  file: LocalFile,
  shadow: Shadow,
  codes: Map<string, string>,
  log: Record<string, unknown>,
  timings: Record<string, number>,
  counts: Map<string, number>,
  indexer: Indexer,
): Promise<void> {
  const label = path.basename(file.path);
  const expectedDep = fileDepartement(file.path);
  const header = (await firstLine(file.path, ctx.settings.MAX_LINE_BYTES)).split(';').map((h) => h.trim().replace(/^"|"$/g, ''));
  const missing = BAN_REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new FormatError(label, `missing column(s) ${missing.join(', ')} in the header (got ${header.join(';')})`);
  const known = new Set<string>(BAN_COLUMNS);
  // Unknown columns are copied into extra columns dropped after the load; absent known columns stay null.
  const copyCols = header.map((h, i) => (known.has(h) && header.indexOf(h) === i ? h : `extra_${i}`));
  const extras = copyCols.filter((c) => !known.has(c));

  const bad: BadLine[] = [];
  const splitter = new BanSplitter({
    delimiter: 0x3b,
    header: copyCols,
    lookup: (c) => codes.get(c),
    expectedDep,
    onBad: (b) => bad.push(b),
    maxLineBytes: ctx.settings.MAX_LINE_BYTES,
    label,
  });
  const flushBad = async () => {
    for (const b of bad.splice(0)) await ctx.quarantine.add({ file: label, line: b.line, raw: b.raw, reason: b.reason });
  };
  const ensured = new Map<string, Promise<void>>();
  const ensure = (dep: string): Promise<void> => {
    let p = ensured.get(dep);
    if (!p) {
      const owner = shadow.owner.get(dep);
      if (owner !== undefined && owner !== label) throw new FormatError(label, `département ${dep} is in two files of the run`);
      const t = `${shadow.prefix}_${dep.toLowerCase()}`;
      shadow.owner.set(dep, label);
      shadow.partitions.set(dep, t);
      // Autovacuum stays off until publication: it would spend CPU on a table still loading, and
      // its lock would make the renames of the publication wait (deadlock_timeout) to cancel it.
      if (shadow.enrich.has(dep)) {
        // Enriched département: COPY into an unlogged raw table (no WAL: its rows are written,
        // logged, once, by the enriched copy into the new table).
        const raw = `${t}_raw`;
        shadow.raw.set(dep, raw);
        p = ctx.db
          .query(
            `create table ${ident(t)} (${shadow.plainColumns},
            constraint ${ident(`${t}_dep`)} check (departement = ${literal(dep)}))
            with (autovacuum_enabled = false);
          create unlogged table ${ident(raw)} (${shadow.columns}${extras.map((c) => `, ${ident(c)} text`).join('')})
            with (autovacuum_enabled = false)`,
          )
          .then(() => undefined);
      } else {
        p = ctx.db
          .query(
            `create table ${ident(t)} (${shadow.columns},
            ${extras.map((c) => `${ident(c)} text, `).join('')}
            constraint ${ident(`${t}_dep`)} check (departement = ${literal(dep)}))
            with (autovacuum_enabled = false)`,
          )
          .then(() => undefined);
      }
      ensured.set(dep, p);
    }
    return p;
  };
  const lanes = new DepartementLanes(
    ctx.db,
    ctx.settings.DOTATION_BAN_WORKERS,
    (dep) => {
      indexer.reopened(dep);
      return `COPY ${ident(shadow.raw.get(dep) ?? `${shadow.prefix}_${dep.toLowerCase()}`)} (${['line', 'departement', 'code_commune', ...copyCols].map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER false)`;
    },
    (dep) => indexer.early(dep, splitter.counts.get(dep) ?? 0),
  );
  ctx.progress.start(`load ${label}`, file.bytes, 'bytes');
  let t0 = Date.now();
  const step = (name: string) => {
    timings[name] = (timings[name] ?? 0) + (Date.now() - t0) / 1000;
    t0 = Date.now();
  };
  const send = async (out: { dep: string; buf: Buffer }[]) => {
    for (const o of out) {
      await ensure(o.dep);
      await lanes.write(o.dep, o.buf);
    }
    await flushBad();
  };
  // Decompressed within MAX_DECOMPRESSED_BYTES and MAX_DECOMPRESSION_RATIO; lines are bounded by the splitter.
  const { bytes } = await openBytes(file.path, { onBytes: (n) => ctx.progress.update(n) });
  try {
    try {
      for await (const chunk of afterHeader(bytes)) await send(splitter.scan(chunk));
    } catch (e) {
      if (String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) {
        throw new FormatError(label, `truncated or corrupt gzip file (${(e as Error).message})`);
      }
      throw e;
    }
    await send(splitter.end());
    await lanes.end();
  } catch (e) {
    bytes.destroy();
    await lanes.release(e);
    throw e;
  }
  await lanes.release();
  await flushBad();
  ctx.progress.stop();
  ctx.counters.read += splitter.good + splitter.bad;
  ctx.counters.loaded += splitter.good;
  if (lanes.copied !== splitter.good) throw new Error(`BAN ${label}: ${lanes.copied} rows copied, ${splitter.good} expected`);
  for (const [d, n] of splitter.counts) counts.set(d, (counts.get(d) ?? 0) + n);
  // The geometry becomes a plain column (catalog only, no rewrite), like the partitioned table's.
  for (const d of splitter.counts.keys()) {
    if (shadow.raw.has(d)) continue; // its new table was created plain; the raw table is dropped
    await ctx.db.query(
      `alter table ${ident(shadow.partitions.get(d)!)} alter column geom drop expression${extras.map((c) => `, drop column ${ident(c)}`).join('')}`,
    );
  }
  step('copy_s');
  log[label] = { lignes: splitter.good + splitter.bad, rejetees: splitter.bad, inserees: splitter.good };
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Builds the index of a new table and analyzes it. The statistics target scales with the rows
 * (10 to 100, i.e. 3,000 to 30,000 sampled rows): a national load then samples about what one
 * ANALYZE of the whole table would, instead of reading every page of a hundred small tables.
 */
async function indexTable(db: Pool, table: string, rows: number): Promise<void> {
  const target = Math.min(100, Math.max(10, Math.ceil(rows / 3000)));
  const client = await db.connect();
  try {
    await client.query('begin');
    // The table is published later by a synchronous commit (which flushes this one's WAL too):
    // no flush wait here, once per département.
    await client.query(`set local synchronous_commit = off`);
    await client.query(`create index ${ident(`${table}_code_commune`)} on ${ident(table)} (code_commune)`);
    await client.query(`set local default_statistics_target = ${target}`);
    await client.query(`analyze ${ident(table)} (code_commune)`); // reltuples + the pack key; the geometry histogram is costly
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Index builds of the new tables. A département whose COPY is complete while the file is still
 * loading is indexed at once, one at a time (its backend takes the CPU the COPY lanes leave idle
 * at département switches); the rest are built WORKERS at a time, largest first, at the end.
 * A département copied again after its early index (unsorted file) is analyzed again at the end.
 * An enriched département's rows are first moved from its raw table with their IRIS and QPV
 * codes (again for the rows of a later COPY).
 */
class Indexer {
  private error: unknown = null;
  private readonly done = new Set<string>();
  private readonly stale = new Set<string>();
  /** Départements complete, waiting for their preparation (move, index, analyze), in order. */
  private readonly pending: { dep: string; rows: number }[] = [];
  /** The one early runner while the file loads (null when idle). */
  private runner: Promise<void> | null = null;
  private finishing = false;
  /** Seconds spent moving raw rows with their codes (overlapping the load). */
  enrichSeconds = 0;

  constructor(
    private readonly db: Pool,
    private readonly shadow: Shadow,
  ) {}

  /** Moves an enriched département's raw rows into its new table, codes attached. */
  private async move(dep: string): Promise<void> {
    const raw = this.shadow.raw.get(dep);
    if (!raw) return;
    const t0 = Date.now();
    const client = await this.db.connect();
    try {
      const { digest } = await copyEnriched(client, dep, raw, this.shadow.partitions.get(dep)!, this.shadow.names);
      const prev = this.shadow.digests.get(dep);
      this.shadow.digests.set(dep, prev === undefined || prev === digest ? digest : null);
    } finally {
      client.release();
    }
    this.enrichSeconds += (Date.now() - t0) / 1000;
  }

  private async prepare(dep: string, rows: number): Promise<void> {
    await this.move(dep);
    await indexTable(this.db, this.shadow.partitions.get(dep)!, rows);
  }

  /** Takes the next pending département and prepares it; false when none is left or a step failed. */
  private async next(): Promise<boolean> {
    const job = this.pending.shift();
    if (!job || this.error) return false;
    try {
      await this.prepare(job.dep, job.rows);
    } catch (e) {
      this.error ??= e;
      return false;
    }
    return true;
  }

  early(dep: string, rows: number): void {
    if (this.done.has(dep) || this.error) return;
    this.done.add(dep);
    this.pending.push({ dep, rows });
    // While the file loads, one département at a time (the COPY lanes have the other core);
    // what is still pending at the end goes to the WORKERS of `finish`.
    this.runner ??= (async () => {
      while (!this.finishing && (await this.next()));
      this.runner = null;
    })();
  }

  reopened(dep: string): void {
    if (this.done.has(dep)) this.stale.add(dep);
  }

  /** Waits for the early builds (a failed run: just lets them settle). */
  async settle(): Promise<void> {
    this.finishing = true;
    await this.runner;
  }

  async finish(counts: Map<string, number>): Promise<void> {
    this.finishing = true;
    const rest = [...this.shadow.partitions.keys()].filter((d) => !this.done.has(d));
    for (const d of rest) {
      this.done.add(d);
      this.pending.push({ dep: d, rows: counts.get(d) ?? 0 });
    }
    this.pending.sort((a, b) => b.rows - a.rows); // largest first
    await Promise.all([
      this.runner,
      ...Array.from({ length: workers() }, async () => {
        while (await this.next());
      }),
    ]);
    if (this.error) throw this.error;
    if (this.pending.length) throw new Error(`BAN: ${this.pending.length} département(s) left unprepared`);
    for (const d of this.stale) {
      await this.move(d);
      await this.db.query(`analyze ${ident(this.shadow.partitions.get(d)!)} (code_commune)`);
    }
  }
}

/**
 * The BAN's edition is the day it was published: upstream says it (the HTTP Last-Modified of the
 * download, read by the harvester) or the operator does (`--millesime` for a copied file). The
 * file itself carries no date, and a local file's date says nothing: a file nobody dates is refused.
 */
function banEdition(files: LocalFile[]): string {
  const unstated = files.filter((f) => !f.edition);
  if (unstated.length)
    throw new EditionError(
      `${unstated.map((f) => path.basename(f.path)).join(', ')}: the BAN's edition is the day it was published, which a copied file does not state (the file has no date, and no HTTP Last-Modified came with it): give it with --millesime YYYY-MM-DD`,
    );
  return files
    .map((f) => f.edition!)
    .sort()
    .at(-1)!;
}

async function load(ctx: RunContext): Promise<void> {
  let files = [...ctx.files.values()];
  if (!files.length)
    throw new MissingResourceError('ban: no BAN file (adresses-{dep}.csv.gz or adresses-france.csv.gz) in the mirror, none downloaded');
  const france = files.find((f) => f.resource === 'france');
  if (france && files.length > 1) {
    ctx.log(`the national file is present: the ${files.length - 1} département file(s) are ignored`);
    files = [france];
  }
  const millesime = banEdition(files);
  ctx.setMillesime(millesime);
  await dropOrphanShadows(ctx.db);
  const {
    rows: [fn],
  } = await ctx.db.query(`select to_regprocedure('st_point(double precision, double precision, integer)') is not null as ok`);
  // ST_Point(x, y, srid) (PostGIS ≥ 3.2) is one call instead of two: measurably cheaper per row.
  const point = fn.ok ? 'ST_Point(lon, lat, 4326)' : 'ST_SetSRID(ST_MakePoint(lon, lat), 4326)';
  // Départements with IRIS or QPV polygons now get their codes during the load (see Shadow.enrich).
  const enrich = !ctx.settings.DOTATION_BAN_ENRICH_IN_LOAD ? new Set<string>() : await departementsWithPolygons(ctx.db);
  const shadow: Shadow = {
    prefix: `adresses_n${ctx.runId}`,
    partitions: new Map(),
    owner: new Map(),
    ...(await partitionColumns(ctx.db, point)),
    enrich,
    raw: new Map(),
    digests: new Map(),
  };
  const codes = await currentCommuneLookup(ctx.db);
  const indexer = new Indexer(ctx.db, shadow);
  const log: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  const counts = new Map<string, number>();
  const lap = (name: string, t: number) => {
    timings[name] = (Date.now() - t) / 1000;
  };
  try {
    try {
      for (const f of files) await stageFile(ctx, f, shadow, codes, log, timings, counts, indexer);
    } catch (e) {
      await indexer.settle();
      throw e;
    }
    let t = Date.now();
    await indexer.finish(counts);
    lap('index_s', t);
    for (const raw of shadow.raw.values()) await ctx.db.query(`drop table if exists ${ident(raw)}`);
    if (shadow.raw.size) timings.enriched_copy_s = indexer.enrichSeconds;
    t = Date.now();
    ctx.checkpoint('after-staging');
    const fichier = Object.fromEntries(files.map((f) => [fileDepartement(f.path) ?? '*', path.basename(f.path)]));
    await ctx.publish(
      millesime,
      async (tx) => {
        // One transaction, one round trip of DDL: each old partition is detached and dropped, the
        // new table takes its name and is attached (its CHECK constraint spares ATTACH the scan).
        const deps = [...shadow.partitions.keys()].sort();
        // Dropping a partition detaches it: no DETACH (the costly step, ≈ 20 ms a partition) is needed.
        const ddl: string[] = deps.map((d) => `drop table if exists ${ident(partitionName(d))}`);
        for (const d of deps) {
          const p = shadow.partitions.get(d)!;
          const published = partitionName(d);
          ddl.push(
            `alter table ${ident(p)} rename to ${ident(published)}`,
            `alter index ${ident(`${p}_code_commune`)} rename to ${ident(`${published}_code_commune`)}`,
            `alter table ${ident(published)} rename constraint ${ident(`${p}_dep`)} to ${ident(`${published}_dep`)}`,
            `alter table adresses attach partition ${ident(published)} for values in (${literal(d)})`,
            `alter table ${ident(published)} reset (autovacuum_enabled)`,
          );
        }
        await tx.query(ddl.join(';\n'));
        const rows = deps.map((d) => counts.get(d) ?? 0);
        // Enriched during the load: the digest of the polygons used (the pass below skips them unless polygons changed since).
        await tx.query(
          `insert into adresses_departements (departement, run_id, fichier, rows, published_at, enrich_digest, enriched_at)
         select d, $2, f, r, now(), g, case when g is not null then now() end from unnest($1::text[], $3::text[], $4::bigint[], $5::text[]) as t(d, f, r, g)
         on conflict (departement) do update set run_id = excluded.run_id, fichier = excluded.fichier, rows = excluded.rows,
           published_at = excluded.published_at, enrich_digest = excluded.enrich_digest, enriched_at = excluded.enriched_at`,
          [deps, ctx.runId, deps.map((d) => fichier[d] ?? fichier['*']), rows, deps.map((d) => shadow.digests.get(d) ?? null)],
        );
        return rows.reduce((s, n) => s + n, 0);
      },
      { departements: [...shadow.partitions.keys()], fichiers: log },
    );
    lap('publication_s', t);
    t = Date.now();
    // Addresses changed in these départements: (re)attach IRIS and QPV codes where the load did
    // not (no polygon when it started) or polygons changed since (digest).
    const enriched = await enrichDepartements(ctx.db, [...shadow.partitions.keys()]);
    lap('enrichment_s', t);
    const updated = enriched.reduce((s, e) => s + e.updated, 0);
    if (enriched.length) ctx.log(`enrichment (IRIS, QPV) of ${enriched.length} département(s): ${updated} address(es) updated`);
    ctx.log(
      `timings (s): ${Object.entries(timings)
        .map(([k, v]) => `${k.replace(/_s$/, '')} ${v.toFixed(1)}`)
        .join(', ')}`,
    );
  } finally {
    // The new tables of a failed run (published ones were renamed: nothing left to drop).
    for (const p of [...shadow.partitions.values(), ...shadow.raw.values()])
      await ctx.db.query(`drop table if exists ${ident(p)}`).catch(() => undefined);
  }
}

export const pipeline: Pipeline = { source, order: 30, load, pack, dropLeftovers: dropOrphanShadows };
