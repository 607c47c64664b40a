import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { settings as currentSettings, Settings } from '../../config/settings';
import { sourceRegistry } from '../../config/sources';
import { pool } from '../db/pool';
import type { Progress } from '../engine/progress';
import { silentProgress } from '../engine/progress';
import { normalizeValue } from './format';
import { CommuneData, CommuneRow, PackPlan, SourceMeta, StreamedBody, datapackage, planFiles, renderPack } from './content';
import { PreviousVersion, computeChanges, lastChanged } from './changes';
import { publishVersion, readManifestAsync, removeOrphanTmp, versionPath } from './store';
import { openZipEntry, zipFiles, PackFile } from './zip';
import { absentSources, sourceFacts } from './sources-meta';
import { communeFacts } from './facts';
import { withLisezmoiHtml } from './lisezmoi';
import { logTo } from '../log';
import { perCommuneSql } from './section';
import { buildInProcesses } from './parallel';

export interface BuildOptions {
  /** Only these communes (codes of communes actuelles or arrondissements municipaux); default: all. */
  communes?: string[];
  /** Only the communes of these départements (combined with `communes` when both are given). */
  departements?: string[];
  /** Called once per commune considered, with what became of its pack (the queue's per-commune ledger). */
  onCommune?: (o: CommuneOutcome) => void;
  progress?: Progress;
  /** Départements processed at once (default 2). */
  concurrency?: number;
  /** Rebuild even when the fingerprint is unchanged (the ZIP is still only published if its content differs). */
  force?: boolean;
  /**
   * Re-read every commune's rows even when no source was republished since its last build
   * (after editing published tables by hand). Default: such communes are skipped unread.
   */
  recheck?: boolean;
  settings?: Settings;
  log?: (m: string) => void;
  /** Names the build in the national change feed (a fan-out passes its build id); default: one id per call. */
  buildId?: string;
  /**
   * Processes that build batches (départements) at once. Default: PACK_BUILD_PROCESSES, used only
   * when at least PARALLEL_MIN communes are to be read (a smaller build stays in this process).
   * Given explicitly, it applies to any build of more than one département (tests).
   */
  processes?: number;
}

export interface CommuneOutcome {
  code: string;
  departement: string;
  status: 'built' | 'unchanged' | 'failed';
  /** Latest version after this build (absent when failed). */
  version?: string;
  error?: string;
}

export interface BuildReport {
  built: number;
  unchanged: number;
  /** Of the unchanged: skipped without reading their rows (no source republished since their last build). */
  skipped: number;
  failed: number;
  errors: { code: string; error: string }[];
  seconds: number;
}

const PACK_TYPES = ['commune-actuelle', 'arrondissement-municipal'];
/**
 * Communes to read from which a build uses PACK_BUILD_PROCESSES processes: starting a process costs
 * about a second (loading the code and the plan), a département's packs a few seconds.
 */
const PARALLEL_MIN = 1000;
/** Version of the pack layout and texts (part of every fingerprint). */
const PACK_FORMAT = '2';
/** Raw text for every column: numbers keep their precision, dates are not shifted by a time zone. */
const RAW = { getTypeParser: () => (v: string) => v };
const sha = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

/**
 * The sources of the pack: pipelines with a pack section and a published dataset. Each is cited
 * with its latest millésime, chronologically (edition_key, src/engine/edition.ts); its run is the
 * last run that published any of its millésimes (loading an older scrutin changes the packs too).
 */
async function loadPlan(db: Pool, s: Settings): Promise<PackPlan> {
  const { rows } = await db.query(
    `select distinct on (source) source, millesime, max(run_id) over (partition by source) as run_id,
            to_char(published_at at time zone 'Europe/Paris', 'YYYY-MM-DD') as published, details
       from published_datasets order by source, edition_key desc, published_at desc`,
  );
  const published = new Map(rows.map((r) => [r.source as string, r]));
  const meta = async (id: string): Promise<SourceMeta | null> => {
    const p = sourceRegistry().get(id);
    const r = published.get(id);
    if (!p || !r) return null;
    const runId = r.run_id === null ? null : Number(r.run_id);
    return {
      id,
      pipeline: p,
      section: p.pack ?? null,
      millesime: r.millesime,
      runId,
      publishedAt: r.published,
      details: r.details ?? {},
      facts: await sourceFacts(db, id, p, r.millesime, runId),
    };
  };
  const ordered = (
    await Promise.all(
      [...sourceRegistry().entries()]
        .sort(([a, pa], [b, pb]) => (pa.order ?? 100) - (pb.order ?? 100) || a.localeCompare(b))
        .filter(([, p]) => p.pack)
        .map(([id]) => meta(id)),
    )
  ).filter((m): m is SourceMeta => m !== null);
  const { tables, layers } = planFiles(ordered);
  // Per-commune reasons of the sources that can tell why a commune has no row (read once per build).
  const missing = new Map<string, Map<string, string>>();
  for (const m of ordered) if (m.section?.whyMissing) missing.set(m.id, await m.section.whyMissing(db, m.millesime));
  return {
    cog: await meta('cog'),
    sources: ordered,
    tables,
    layers,
    baseUrl: s.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    absent: await absentSources(db, new Set(ordered.map((m) => m.id))),
    missing,
  };
}

async function communeRows(db: Pool, codes: string[]): Promise<CommuneRow[]> {
  const { rows } = await db.query(
    `select c.code, c.type, c.nom, c.departement, d.nom as dep_nom, c.region, r.nom as reg_nom, c.epci, e.nom as epci_nom, e.type as epci_type,
            c.siren, c.codes_postaux, c.anciens_codes, c.commune_parent, p.nom as parent_nom, c.population, c.tncc,
            (select json_agg(json_build_object('code', x.code, 'nom', x.nom, 'type', x.type) order by x.code, x.type)
               from communes x where x.commune_parent = c.code and x.type in ('commune-deleguee', 'commune-associee')) as deleguees
       from communes c
       left join departements d on d.code = c.departement
       left join regions r on r.code = c.region
       left join epci e on e.code = c.epci
       left join communes p on p.code = c.commune_parent and p.type = 'commune-actuelle'
      where c.type = any($2::text[]) and c.code = any($1::text[])
      order by c.code`,
    [codes, PACK_TYPES],
  );
  return rows;
}

/**
 * Where each expected column is in a pack query's answer (columns are taken by name). A missing,
 * unexpected or repeated column is a bug of the pack section: the error names it.
 */
export function columnPositions(label: string, returned: string[], expected: string[]): number[] {
  const missing = expected.filter((c) => !returned.includes(c));
  const extra = returned.filter((c) => !expected.includes(c));
  const twice = returned.filter((c, i) => returned.indexOf(c) !== i);
  if (missing.length || extra.length || twice.length)
    throw new Error(
      `${label}: the pack query must return columns ${expected.join(', ')} (code_commune, then one named as each field); ` +
        [
          missing.length && `missing: ${missing.join(', ')}`,
          extra.length && `unexpected: ${extra.join(', ')}`,
          twice.length && `repeated: ${twice.join(', ')}`,
        ]
          .filter(Boolean)
          .join('; ') +
        ` (it returns ${returned.join(', ')})`,
    );
  return expected.map((c) => returned.indexOf(c));
}

/** Runs every table and layer query of the plan once for the batch, grouped by commune. */
async function batchData(db: Pool, plan: PackPlan, codes: string[]): Promise<Map<string, CommuneData>> {
  const out = new Map<string, CommuneData>(codes.map((c) => [c, { tables: new Map(), layers: new Map() }]));
  for (const t of plan.tables) {
    if (t.table.perCommune) continue;
    const label = `${t.source.id}/${t.file}`;
    const res = await db.query({ text: t.table.query, values: [codes], rowMode: 'array', types: RAW }).catch((err: Error) => {
      throw new Error(`${label}: ${err.message}`);
    });
    const [code, ...at] = columnPositions(
      label,
      res.fields.map((f) => f.name),
      ['code_commune', ...t.table.fields.map((f) => f.name)],
    );
    const types = t.table.fields.map((f) => f.type);
    for (const r of res.rows as (string | null)[][]) {
      const d = out.get(r[code] as string);
      if (!d) continue;
      const cells = types.map((ty, i) => normalizeValue(r[at[i]] ?? null, ty));
      let list = d.tables.get(t.file);
      if (!list) d.tables.set(t.file, (list = []));
      list.push(cells);
    }
  }
  for (const l of plan.layers) {
    if (l.layer.perCommune) continue;
    const label = `${l.source.id}/${l.file}`;
    const res = await db.query({ text: l.layer.query, values: [codes], rowMode: 'array', types: RAW }).catch((err: Error) => {
      throw new Error(`${label}: ${err.message}`);
    });
    const [code, props, geom] = columnPositions(
      label,
      res.fields.map((f) => f.name),
      ['code_commune', 'properties', 'geometry'],
    );
    for (const r of res.rows as (string | null)[][]) {
      const d = out.get(r[code] as string);
      if (!d) continue;
      let list = d.layers.get(l.file);
      if (!list) d.layers.set(l.file, (list = []));
      list.push(`{"type":"Feature","properties":${r[props] ?? '{}'},"geometry":${r[geom] ?? 'null'}}`);
    }
  }
  return out;
}

interface StreamedQuery {
  file: string;
  label: string;
  sql: string;
  options: string;
}

const quoteIdent = (c: string) => `"${c.replace(/"/g, '""')}"`;

/**
 * The per-commune COPY statements of the plan (tables as `;` CSV; layers one Feature a line, never
 * quoted). Columns are taken by name: the query is wrapped in a select of the fields, in order.
 */
function streamedQueries(plan: PackPlan): StreamedQuery[] {
  return [
    ...plan.tables
      .filter((t) => t.table.perCommune)
      .map((t) => ({
        file: t.file,
        label: `${t.source.id}/${t.file}`,
        sql: `select ${t.table.fields.map((f) => quoteIdent(f.name)).join(', ')} from (${t.table.query}) q`,
        options: `format csv, delimiter ';'`,
      })),
    // Feature JSON never holds the control characters chosen as delimiter and quote, so PostgreSQL writes it verbatim.
    ...plan.layers
      .filter((l) => l.layer.perCommune)
      .map((l) => ({
        file: l.file,
        label: `${l.source.id}/${l.file}`,
        sql: `select feature from (${l.layer.query}) q`,
        options: `format csv, delimiter E'\\x02', quote E'\\x01'`,
      })),
  ];
}

/** Runs the per-commune COPY statements of one commune: PostgreSQL writes the bytes, Node only concatenates them. */
async function streamedData(db: Pool, queries: StreamedQuery[], code: string): Promise<Map<string, StreamedBody>> {
  const out = new Map<string, StreamedBody>();
  if (!queries.length) return out;
  // The code goes into the SQL text (COPY takes no parameters): perCommuneSql checks it.
  const sqlOf = queries.map((q) => perCommuneSql(q.sql, code));
  const client = await db.connect();
  let failed: Error | undefined;
  try {
    for (const [i, q] of queries.entries()) {
      const stream = client.query(copyTo(`copy (${sqlOf[i]}) to stdout with (${q.options})`));
      const chunks: Buffer[] = [];
      try {
        for await (const c of stream) chunks.push(c as Buffer);
      } catch (err) {
        throw new Error(`${q.label}: ${(err as Error).message}`, { cause: err });
      }
      out.set(q.file, { chunks, rows: stream.rowCount });
    }
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    // A client whose COPY failed midway is dropped rather than reused.
    client.release(failed);
  }
  return out;
}

/** Each commune's sources key: the global key, plus its slice version of every sliced source. */
async function sourcesKeys(db: Pool, globalKey: string, sliced: SourceMeta[], codes: string[]): Promise<Map<string, string>> {
  const parts = new Map<string, string[]>(codes.map((c) => [c, []]));
  for (const m of sliced) {
    const { rows } = await db.query(m.section!.sliceVersion!, [codes]).catch((err: Error) => {
      throw new Error(`${m.id} sliceVersion: ${err.message}`);
    });
    const v = new Map(rows.map((r) => [r.code as string, String(r.version ?? '')]));
    for (const [c, p] of parts) p.push(`${m.id}=${v.get(c) ?? ''}`);
  }
  return new Map([...parts].map(([c, p]) => [c, p.length ? `${globalKey}|${p.join(',')}` : globalKey]));
}

async function pool_<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

interface Latest {
  version: string;
  sha256: string;
  bytes: number;
  millesime: string;
}
interface Outcome {
  code: string;
  status: 'built' | 'unchanged';
  /** For a new version: what changed, in French (changes.json `resume`), and when it was made. */
  summary?: string;
  createdAt?: string;
  fingerprint: string;
  sourcesKey: string;
  latest: Latest;
  donnees: Record<string, unknown>;
}
interface PrevBuild extends Latest {
  fingerprint: string;
}

const exists = (f: string) =>
  fs.promises.access(f).then(
    () => true,
    () => false,
  );

/** Builds (or confirms) one commune pack. */
async function buildOne(
  s: Settings,
  plan: PackPlan,
  c: CommuneRow,
  data: CommuneData,
  sourcesKey: string,
  prevBuild: PrevBuild | undefined,
  force: boolean,
): Promise<Outcome | null> {
  const rendered = renderPack(c, plan, data);
  const fingerprint = sha(`${sourcesKey}\n${rendered.dataHash}`);
  // Fast path: same fingerprint as the last build and its ZIP still on disk.
  if (!force && prevBuild?.fingerprint === fingerprint && (await exists(versionPath(s.PACKS_DIR, c.code, prevBuild.version)))) {
    return { code: c.code, status: 'unchanged', fingerprint, sourcesKey, latest: prevBuild, donnees: rendered.donnees };
  }
  const manifest = await readManifestAsync(s.PACKS_DIR, c.code);
  const latest = manifest?.versions[0];
  const latestFile = latest ? versionPath(s.PACKS_DIR, c.code, latest.version) : null;
  const latestExists = latestFile ? await exists(latestFile) : false;
  if (manifest && latest && latestExists && latest.dataHash === rendered.dataHash) {
    return { code: c.code, status: 'unchanged', fingerprint, sourcesKey, latest, donnees: rendered.donnees };
  }
  const sourcesNow = new Map(
    [plan.cog, ...plan.sources].filter(Boolean).map((m) => [`${m!.pipeline.source.producer} — ${m!.pipeline.source.title}`, m!.millesime]),
  );
  // The previous version as its manifest lists it; its files are streamed from its ZIP only when compared.
  const prev: PreviousVersion | null =
    latest && latestExists
      ? { version: latest.version, files: latest.files, open: async (name) => (await openZipEntry(latestFile!, name))?.stream ?? null }
      : null;
  const files: PackFile[] = withLisezmoiHtml(rendered.files, c);
  const changes = await computeChanges(prev, files, plan, sourcesNow);
  files.splice(files.findIndex((f) => f.name === 'catalogue.csv') + 1, 0, {
    name: 'changes.json',
    data: Buffer.from(JSON.stringify(changes, null, 2) + '\n', 'utf8'),
  });
  const dp: PackFile = { name: 'datapackage.json', data: Buffer.from(datapackage(c, plan, files), 'utf8') };
  const ordered = [files[0], dp, ...files.slice(1)];
  const zip = await zipFiles(ordered);
  const digest = sha(zip);
  const millesime = plan.cog?.millesime ?? 'v';
  const createdAt = new Date().toISOString();
  const fileList = ordered.map((f) => ({ name: f.name, bytes: f.data.length, sha256: f.sha256 ?? sha(f.data) }));
  const next = await publishVersion(
    s.PACKS_DIR,
    c.code,
    zip,
    {
      version: `${millesime}.${(manifest?.seq ?? 0) + 1}`,
      sha256: digest,
      bytes: zip.length,
      createdAt,
      dataHash: rendered.dataHash,
      millesime,
      files: fileList,
      donnees: rendered.donnees,
      summary: changes.resume,
      modified: lastChanged(plan, fileList, manifest?.versions ?? [], createdAt),
    },
    s.PACK_VERSIONS_KEPT,
    manifest,
    c.nom,
  );
  return {
    code: c.code,
    status: 'built',
    summary: changes.resume,
    createdAt,
    fingerprint,
    sourcesKey,
    latest: next.versions[0],
    donnees: rendered.donnees,
  };
}

/** What every batch of one build shares: settings, the plan, its per-commune COPY statements. */
export interface BuildContext {
  s: Settings;
  db: Pool;
  plan: PackPlan;
  streamed: StreamedQuery[];
  /** The build's global key (sources, millésimes, runs, pack format): two processes of one build must agree on it. */
  globalKey: string;
  sliced: SourceMeta[];
  force: boolean;
}

/** Loads the plan and derives what every batch needs (once per build, and once per build process). */
/**
 * The pack build's sessions: many short queries (a département's rows, a commune's COPY), run by
 * several communes and processes at once. JIT compilation cost ≈ 110 ms on each of a batch's
 * larger queries (measured: the marchés publics per-year query of département 35, 1.5 s with
 * JIT and two parallel workers), and parallel workers compete for the cores the build already
 * fills; a city's addresses (tens of thousands of rows sorted by line) spilled to disk at 4 MB.
 */
const PACK_SESSION = '-c jit=off -c max_parallel_workers_per_gather=0 -c work_mem=32MB';

export async function prepareBuild(s: Settings, force: boolean): Promise<BuildContext> {
  const db = pool(s.DATABASE_URL, PACK_SESSION);
  const plan = await loadPlan(db, s);
  // Bump PACK_FORMAT when the pack layout or texts change, so every pack is checked again.
  // What a commune's pack is built from: every source's millésime and run, or, for a source whose
  // slices have their own version (sliceVersion), that commune's slice version alone: a new
  // edition that leaves a commune's rows as they were does not rebuild its pack (its LISEZMOI
  // keeps naming the edition its rows were first built from).
  const globalKey =
    `format:${PACK_FORMAT};` +
    [plan.cog, ...plan.sources]
      .filter(Boolean)
      .map((m) => (m!.section?.sliceVersion ? `${m!.id}:slices` : `${m!.id}:${m!.millesime}:${m!.runId}`))
      .join(',');
  return { s, db, plan, streamed: streamedQueries(plan), globalKey, sliced: plan.sources.filter((m) => m.section?.sliceVersion), force };
}

/**
 * Builds the packs of one département's communes (one batch: each pack query runs once with
 * `$1 = codes`), calls `emit` once per commune, records the outcomes in pack_builds and
 * pack_versions, and returns the codes whose pack got a new version. Never throws: a broken pack
 * query fails the batch's packs (emitted as failed), never the whole build.
 */
export async function buildBatch(
  ctx: BuildContext,
  dep: string,
  codes: string[],
  keys: Map<string, string>,
  buildId: string,
  emit: (o: CommuneOutcome) => void,
  log: (m: string) => void,
): Promise<string[]> {
  const { s, db, plan, streamed } = ctx;
  let communes: CommuneRow[];
  let data: Map<string, CommuneData>;
  let prev: Map<string, PrevBuild>;
  try {
    [communes, data, prev] = await Promise.all([
      Promise.all([communeRows(db, codes), communeFacts(db, codes)]).then(([rows, facts]) =>
        rows.map((r) => ({ ...r, facts: facts.get(r.code) })),
      ),
      batchData(db, plan, codes),
      db
        .query(`select code, fingerprint, version, sha256, bytes, millesime from pack_builds where code = any($1::text[])`, [codes])
        .then((r) => new Map(r.rows.map((x) => [x.code as string, { ...x, bytes: Number(x.bytes) } as PrevBuild]))),
    ]);
  } catch (err) {
    const message = `batch ${dep}: ${(err as Error).message}`;
    log(message);
    for (const code of codes) emit({ code, departement: dep, status: 'failed', error: message });
    return [];
  }
  const outcomes: Outcome[] = [];
  await pool_(communes, 4, async (c) => {
    try {
      const d = data.get(c.code)!;
      d.streamed = await streamedData(db, streamed, c.code);
      // A commune's streamed files (a large city: tens of MB) are dropped as soon as its pack is done.
      const o = await buildOne(s, plan, c, d, keys.get(c.code)!, prev.get(c.code), ctx.force).finally(() => {
        d.streamed = undefined;
      });
      if (o) {
        outcomes.push(o);
        emit({ code: o.code, departement: dep, status: o.status, version: o.latest.version });
      }
    } catch (err) {
      emit({ code: c.code, departement: dep, status: 'failed', error: (err as Error).message });
      log(`${c.code}: ${(err as Error).message}`);
    }
  });
  if (!outcomes.length) return [];
  outcomes.sort((a, b) => a.code.localeCompare(b.code));
  await db.query(
    `insert into pack_builds (code, fingerprint, version, sha256, bytes, millesime, donnees, built_at, checked_at, sources_key)
     select t.code, t.fp, t.v, t.sha, t.b, t.m, t.d::jsonb, now(), now(), t.k
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bool[], $9::text[]) as t(code, fp, v, sha, b, m, d, built, k)
     on conflict (code) do update set fingerprint = excluded.fingerprint, version = excluded.version, sha256 = excluded.sha256,
       bytes = excluded.bytes, millesime = excluded.millesime, donnees = excluded.donnees, checked_at = now(), sources_key = excluded.sources_key,
       built_at = case when pack_builds.sha256 = excluded.sha256 then pack_builds.built_at else now() end`,
    [
      outcomes.map((o) => o.code),
      outcomes.map((o) => o.fingerprint),
      outcomes.map((o) => o.latest.version),
      outcomes.map((o) => o.latest.sha256),
      outcomes.map((o) => o.latest.bytes),
      outcomes.map((o) => o.latest.millesime),
      outcomes.map((o) => JSON.stringify(o.donnees)),
      outcomes.map((o) => o.status === 'built'),
      outcomes.map((o) => o.sourcesKey),
    ],
  );
  const built = outcomes.filter((o) => o.status === 'built');
  if (built.length)
    await db.query(
      `insert into pack_versions (code, version, build_id, created_at, sha256, bytes, summary)
       select t.code, t.v, $7, t.at, t.sha, t.b, t.s
         from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::bigint[], $6::text[]) as t(code, v, at, sha, b, s)
       on conflict (code, version) do nothing`,
      [
        built.map((o) => o.code),
        built.map((o) => o.latest.version),
        built.map((o) => o.createdAt),
        built.map((o) => o.latest.sha256),
        built.map((o) => o.latest.bytes),
        built.map((o) => o.summary ?? ''),
        buildId,
      ],
    );
  return built.map((o) => o.code);
}

/**
 * What a pack costs beside its rows, counted in inhabitants (a commune's rows grow with its
 * population): measured on this machine, a pack of a commune of ~400 inhabitants took ≈ 29 ms of
 * CPU and one of ~3,000 ≈ 49 ms, that is ≈ 26 ms for the pack itself, ≈ 3,300 inhabitants' worth.
 */
const PACK_WEIGHT_INHABITANTS = 3300;

/** The départements' batches, the largest expected work first (ties in code order). */
export function largestFirst(batches: Map<string, string[]>, weights: Map<string, number>): [string, string[]][] {
  return [...batches.entries()].sort(([a], [b]) => (weights.get(b) ?? 0) - (weights.get(a) ?? 0) || a.localeCompare(b));
}

/**
 * Builds the pack of every commune actuelle and arrondissement municipal (or of `communes`).
 * One batch per département: each pack query runs once per batch with `$1 = codes`.
 * A commune whose fingerprint (sources' millésime + run, hash of its rows) is unchanged is not rebuilt.
 * A large build (≥ PARALLEL_MIN communes to read) runs its batches in PACK_BUILD_PROCESSES processes
 * (src/packs/parallel.ts), the largest départements first: rendering and zipping a pack is CPU work
 * of Node's main thread.
 */
export async function buildPacks(opts: BuildOptions = {}): Promise<BuildReport> {
  const t0 = Date.now();
  const s = opts.settings ?? currentSettings();
  const progress = opts.progress ?? silentProgress;
  const log = opts.log ?? logTo('packs');
  const ctx = await prepareBuild(s, !!opts.force);
  const { db } = ctx;
  const buildId = opts.buildId ?? `${new Date().toISOString().replace(/[-:.]/g, '')}-${crypto.randomBytes(3).toString('hex')}`;
  const { rows: list } = await db.query(
    `select code, coalesce(departement, left(code, 2)) as dep, coalesce(population, 0) as population from communes
      where type = any($1::text[]) and ($2::text[] is null or code = any($2::text[]))
        and ($3::text[] is null or coalesce(departement, left(code, 2)) = any($3::text[])) order by 2, 1`,
    [PACK_TYPES, opts.communes?.length ? opts.communes : null, opts.departements?.length ? opts.departements : null],
  );
  if (opts.communes?.length) {
    const found = new Set(list.map((r) => r.code));
    const unknown = opts.departements?.length ? [] : opts.communes.filter((c) => !found.has(c));
    if (unknown.length) log(`not a commune actuelle or arrondissement municipal: ${unknown.join(', ')}`);
  }
  const report: BuildReport = { built: 0, unchanged: 0, skipped: 0, failed: 0, errors: [], seconds: 0 };
  let done = 0;
  progress.start('packs', list.length, 'rows');
  // Communes none of whose sources was republished since their last build: unchanged, unread.
  const keys = await sourcesKeys(
    db,
    ctx.globalKey,
    ctx.sliced,
    list.map((r) => r.code),
  );
  const fresh = new Set<string>();
  if (!opts.force && !opts.recheck && list.length) {
    const { rows } = await db.query(`select code, version, sources_key from pack_builds where code = any($1::text[])`, [
      list.map((r) => r.code),
    ]);
    for (const r of rows)
      if (r.sources_key === keys.get(r.code) && (await exists(versionPath(s.PACKS_DIR, r.code, r.version)))) fresh.add(r.code);
  }
  // Temporary files of a killed build, in the directories this build owns (fresh communes included).
  let orphans = 0;
  await pool_(
    list.map((r) => r.code as string),
    8,
    async (code) => {
      const n = await removeOrphanTmp(s.PACKS_DIR, code);
      orphans += n;
    },
  );
  if (orphans) log(`${orphans} temporary file(s) left by an interrupted build removed`);
  const batches = new Map<string, string[]>();
  /** Each département's expected work, to hand out the largest first (below). */
  const weights = new Map<string, number>();
  for (const r of list) {
    if (fresh.has(r.code)) {
      report.unchanged++;
      report.skipped++;
      opts.onCommune?.({ code: r.code, departement: r.dep, status: 'unchanged' });
      progress.update(++done);
      continue;
    }
    (batches.get(r.dep) ?? batches.set(r.dep, []).get(r.dep)!).push(r.code);
    weights.set(r.dep, (weights.get(r.dep) ?? 0) + Number(r.population) + PACK_WEIGHT_INHABITANTS);
  }
  await fs.promises.mkdir(s.PACKS_DIR, { recursive: true });
  const emit = (o: CommuneOutcome) => {
    report[o.status]++;
    if (o.status === 'failed') report.errors.push({ code: o.code, error: o.error ?? 'échec' });
    opts.onCommune?.(o);
    progress.update(++done);
  };
  const toRead = [...batches.values()].reduce((n, c) => n + c.length, 0);
  const processes = opts.processes ?? s.PACK_BUILD_PROCESSES;
  const parallel = processes > 1 && batches.size > 1 && (opts.processes !== undefined || toRead >= PARALLEL_MIN);
  const builtCodes = parallel
    ? await buildInProcesses({
        ctx,
        buildId,
        // Largest départements first. Handed out in code order, the national build ended on 91 to
        // 95 and the DOM (≈ 630 communes, among them the large ones of the petite couronne): its
        // last 2 % of communes took 78 s of its 576 s, with processes running out of work.
        batches: largestFirst(batches, weights),
        keys,
        processes,
        emit,
        log,
        here: (rest) => buildHere(ctx, rest, keys, buildId, opts.concurrency ?? 2, emit, log),
      })
    : await buildHere(ctx, [...batches.entries()], keys, buildId, opts.concurrency ?? 2, emit, log);
  progress.stop();
  if (builtCodes.length) await schedulePublications(db, log);
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}

/** Builds batches in this process, `concurrency` départements at once. */
async function buildHere(
  ctx: BuildContext,
  batches: [string, string[]][],
  keys: Map<string, string>,
  buildId: string,
  concurrency: number,
  emit: (o: CommuneOutcome) => void,
  log: (m: string) => void,
): Promise<string[]> {
  const builtCodes: string[] = [];
  await pool_(batches, concurrency, async ([dep, codes]) => {
    builtCodes.push(...(await buildBatch(ctx, dep, codes, keys, buildId, emit, log)));
  });
  return builtCodes;
}

/**
 * After a build that made new versions: enqueues the publication to data.gouv.fr of every registered
 * commune whose latest version is not published yet (src/queue/publications.ts). Best effort: a
 * build never fails for it, and what is not enqueued now is by the next build or `dotation publish pending`.
 */
async function schedulePublications(db: Pool, log: (m: string) => void): Promise<void> {
  try {
    const { rows } = await db.query(`select 1 from publication_targets where stopped_at is null limit 1`);
    if (!rows.length) return;
    // Loaded only when a commune publishes: a plain build never opens a Redis connection.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { enqueuePendingPublications } = require('../queue/publications') as typeof import('../queue/publications');
    const n = await enqueuePendingPublications();
    if (n) log(`${n} publication(s) to data.gouv.fr enqueued`);
  } catch (err) {
    log(`publication to data.gouv.fr not enqueued: ${(err as Error).message} (run 'dotation publish pending' later)`);
  }
}
