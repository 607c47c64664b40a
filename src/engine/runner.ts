import type { PoolClient } from 'pg';
import { settings as currentSettings, Settings } from '../../config/settings';
import { getPipeline } from '../../config/sources';
import { pool, transaction } from '../db/pool';
import { resolveResources } from '../harvest/resolve';
import { ContentError, CountMismatchError, MissingResourceError } from './errors';
import { resolveEdition } from './edition';
import type { LocalFile, Pipeline, RunContext, RunCounters } from './pipeline';
import { Progress, silentProgress } from './progress';
import { Quarantine } from './quarantine';
import { createStaging, dropStaging } from './staging';
import { logTo } from '../log';
import { reapDeadRuns, RunLease } from './lease';
import {
  coverageFor,
  Measure,
  measure,
  PublicationRefused,
  recordedMeasure,
  referenceEdition,
  refusal,
  shrinkReasons,
  storeMeasure,
} from './guard';

export interface RunOptions {
  /** The pipeline to run (default: the registry's `sourceId`): tests run pipelines of a registry of their own. */
  pipeline?: Pipeline;
  file?: string;
  resource?: string;
  /** The edition an operator states for a hand-copied file (`--millesime`). */
  millesime?: string;
  /** Reload even when every input file is unchanged since the last success. */
  force?: boolean;
  trigger?: 'cli' | 'worker' | 'schedule' | 'start' | 'test';
  jobId?: string;
  attempt?: number;
  progress?: Progress;
  log?: (m: string) => void;
  settings?: Settings;
  /** Called with progress figures (the worker forwards them to BullMQ). */
  onProgress?: (p: Record<string, unknown>) => void;
  /** Publish even when the publication guard would refuse it (`--allow-shrink`; see src/engine/guard.ts). */
  allowShrink?: boolean;
}

export interface RunReport extends RunCounters {
  runId: number;
  source: string;
  status: 'succeeded' | 'unchanged' | 'failed';
  millesime: string | null;
  bytes: number;
  files: LocalFile[];
  error?: string;
}

/**
 * Marks runs whose process is gone as interrupted and drops what they left behind (see
 * src/engine/lease.ts: a leased run at once, any other after `staleSeconds` without a heartbeat).
 */
export async function markInterruptedRuns(staleSeconds?: number, url?: string): Promise<number> {
  return (await reapDeadRuns(pool(url), staleSeconds)).length;
}

/**
 * Runs one source end to end: resolve files (file, mirror, download or embedded), skip when
 * unchanged, load through the pipeline (staging + one publishing transaction), record the run.
 * The same function serves `dotation run --inline` and the BullMQ worker.
 */
export async function runSource(sourceId: string, opts: RunOptions = {}): Promise<RunReport> {
  const settings = opts.settings ?? currentSettings();
  const db = pool(settings.DATABASE_URL);
  const pipeline = opts.pipeline ?? getPipeline(sourceId);
  const log = opts.log ?? logTo(sourceId);
  const progress = opts.progress ?? silentProgress;
  // Runs of dead processes are settled first (their leftovers dropped: a BAN retry never meets them).
  await reapDeadRuns(db).catch(() => undefined);
  const lease = await RunLease.open(settings.DATABASE_URL, {
    source: sourceId,
    trigger: opts.trigger ?? 'cli',
    jobId: opts.jobId ?? null,
    attempt: opts.attempt ?? 1,
    options: { file: opts.file, resource: opts.resource, millesime: opts.millesime, force: opts.force },
  });
  const runId = lease.runId;
  const counters: RunCounters = { read: 0, loaded: 0, rejected: 0, published: 0 };
  const quarantine = new Quarantine(db, runId, sourceId);
  // The edition the pipeline publishes (setMillesime / publish); never the declaration's default.
  let millesime: string | null = null;
  // What the input files state (their one common edition), recorded when the pipeline set none.
  let stated: string | null = null;
  let bytes = 0;
  let files: LocalFile[] = [];
  const heartbeat = setInterval(() => {
    const p = { ...counters, rejected: quarantine.count };
    opts.onProgress?.(p);
    lease.beat(p);
  }, 2000);
  heartbeat.unref();
  const failAt = settings.DOTATION_FAIL_AT;

  try {
    const { files: resolved, missing } = await resolveResources(db, settings, pipeline.source, {
      file: opts.file,
      resource: opts.resource,
      millesime: opts.millesime,
      progress,
      log,
    });
    files = [...resolved.values()];
    bytes = files.reduce((s, f) => s + f.bytes, 0);
    const editions = [...new Set(files.map((f) => f.edition).filter((e): e is string => Boolean(e)))];
    stated = editions.length === 1 ? editions[0] : null;
    let embedded = false;
    if (missing.length) {
      if (!pipeline.embedded || opts.file) throw new MissingResourceError(`${sourceId}: missing ${missing.join('; ')}`);
      log(`no mirror copy or download for ${missing.length} resource(s): loading the embedded default`);
      embedded = true;
    }
    await db.query(
      `insert into provenance (run_id, source, resource, origin, url, path, etag, last_modified, sha256, bytes, edition, edition_from, upstream)
       select $1, $2, r, o, u, p, e, lm, s, b, ed, ef, up::jsonb
         from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[])
         as t(r, o, u, p, e, lm, s, b, ed, ef, up)`,
      [
        runId,
        sourceId,
        files.map((f) => f.resource),
        files.map((f) => f.origin),
        files.map((f) => f.url ?? null),
        files.map((f) => f.path),
        files.map((f) => f.etag ?? null),
        files.map((f) => f.lastModified ?? null),
        files.map((f) => f.sha256),
        files.map((f) => f.bytes),
        files.map((f) => f.edition ?? null),
        files.map((f) => f.editionFrom ?? null),
        files.map((f) => (f.upstream ? JSON.stringify(f.upstream) : null)),
      ],
    );

    if (!opts.force && !embedded && files.length && (await sameAsLastSuccess(db, sourceId, runId, files))) {
      log('every input file is unchanged since the last successful run: nothing to reload');
      // Same files, same edition: the one the last successful run published.
      const {
        rows: [last],
      } = await db.query(`select millesime from runs where source = $1 and status = 'succeeded' and id <> $2 order by id desc limit 1`, [
        sourceId,
        runId,
      ]);
      millesime = last?.millesime ?? stated;
      await db.query(`update runs set status = 'unchanged', finished_at = now(), bytes = $2, millesime = $3 where id = $1`, [
        runId,
        bytes,
        millesime,
      ]);
      return { runId, source: sourceId, status: 'unchanged', millesime, bytes, files, ...counters };
    }

    const ctx: RunContext = {
      runId,
      source: pipeline.source,
      settings,
      db,
      files: embedded ? new Map() : resolved,
      embedded,
      counters,
      quarantine,
      progress,
      log,
      staging: (name, columns) => createStaging(db, sourceId, runId, name, columns, { contract: true }),
      scratch: (name, columns) => createStaging(db, sourceId, runId, name, columns, { contract: false }),
      rejectStaged: async (select, params) => {
        const n = await quarantine.addFromSql(select, params);
        counters.loaded -= n;
        return n;
      },
      setMillesime: (m) => {
        millesime = resolveEdition(m).label;
      },
      checkpoint: (step) => {
        if (failAt === `${sourceId}:${step}`) throw new Error(`injected failure at ${sourceId}:${step} (DOTATION_FAIL_AT)`);
      },
      publish: async (m, fn, details = {}) => {
        const edition = resolveEdition(m);
        await quarantine.flush();
        const client: PoolClient = await db.connect();
        try {
          await transaction(client, async () => {
            // A run that lost its lease may already be marked interrupted (and its staging dropped): it never publishes.
            const alive = await client.query(`select 1 from runs where id = $1 and status = 'running' for update`, [runId]);
            if (lease.lost || !alive.rowCount)
              throw new Error('the run lost its database session (lease) and was marked interrupted: nothing published');
            // The publication guard: the published table measured before and after the writes.
            const cov = coverageFor(pipeline.source.coverage, edition.label);
            const ref = cov ? await referenceEdition(client, sourceId, cov, edition) : null;
            // What was published: as the ledger recorded it at its publication, else measured.
            const beforeOf = async (e: string | null) =>
              (await recordedMeasure(client, sourceId, cov!, e, settings.GUARD_LEDGER_MIN_ROWS)) ?? (await measure(client, cov!, e));
            const before = cov && ref !== null ? await beforeOf(ref) : cov && !cov.edition ? await beforeOf(null) : null;
            const n = await fn(client);
            await analyzeWritten(client);
            let after: Measure | null = null;
            if (cov) {
              after = await measure(client, cov, edition.label);
              const reasons = shrinkReasons(sourceId, cov, before, after);
              if (reasons.length && !opts.allowShrink) throw refusal(reasons, cov);
              if (reasons.length) {
                log(`publication forced (--allow-shrink): ${reasons.join('; ')}`);
                details = { ...details, forced: reasons };
              }
            }
            counters.published += n;
            ctx.checkpoint('before-commit');
            const digest = files
              .map((f) => `${f.resource}:${f.sha256}`)
              .sort()
              .join(',');
            await client.query(
              `insert into published_datasets (source, millesime, edition_kind, edition_key, run_id, published_at, rows, sha256, details, measure)
               values ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9)
               on conflict (source, millesime) do update set edition_kind = excluded.edition_kind, edition_key = excluded.edition_key,
                 run_id = excluded.run_id, published_at = excluded.published_at,
                 rows = excluded.rows, sha256 = excluded.sha256, details = excluded.details, measure = excluded.measure`,
              [
                sourceId,
                edition.label,
                edition.kind,
                edition.key,
                runId,
                n,
                digest || null,
                JSON.stringify({ ...details, embedded }),
                cov && after ? JSON.stringify(storeMeasure(cov, after)) : null,
              ],
            );
          });
        } finally {
          client.release();
        }
        millesime = millesime ?? edition.label;
      },
    };
    if (embedded) await pipeline.embedded!(ctx);
    else await pipeline.load(ctx);
    await quarantine.flush();
    counters.rejected = quarantine.count;
    // A file with a header and no row (or nothing at all) is not an edition: say so, never "succeeded, 0 rows".
    if (counters.read === 0 && !embedded) throw new ContentError(`${sourceId}: no data row in the input file(s): nothing published`);
    if (counters.read !== counters.loaded + counters.rejected) {
      throw new CountMismatchError(`rows do not add up: read ${counters.read} ≠ loaded ${counters.loaded} + rejected ${counters.rejected}`);
    }
    millesime = millesime ?? stated;
    await db.query(
      `update runs set status = 'succeeded', finished_at = now(), heartbeat_at = now(), bytes = $2, rows_read = $3, rows_loaded = $4,
         rows_rejected = $5, rows_published = $6, millesime = $7, progress = '{}' where id = $1`,
      [runId, bytes, counters.read, counters.loaded, counters.rejected, counters.published, millesime],
    );
    log(
      `done: read ${counters.read}, loaded ${counters.loaded}, rejected ${counters.rejected}, published ${counters.published}${millesime ? ` (millésime ${millesime})` : ''}`,
    );
    return { runId, source: sourceId, status: 'succeeded', millesime, bytes, files, ...counters };
  } catch (err) {
    await quarantine.flush().catch(() => undefined);
    const message = (err as Error).message ?? String(err);
    const status = err instanceof PublicationRefused ? 'refused' : 'failed';
    // Staging goes before the status: whoever polls for 'failed' may rely on it being gone.
    await dropStaging(db, sourceId, runId).catch(() => undefined);
    const recorded = await db
      .query(
        `update runs set status = $8, finished_at = now(), bytes = $2, rows_read = $3, rows_loaded = $4, rows_rejected = $5, error = $6, millesime = $7 where id = $1`,
        [runId, bytes, counters.read, counters.loaded, quarantine.count, message, millesime ?? stated, status],
      )
      .then(
        () => true,
        () => false,
      );
    // The database went away with the run: the worker records the failure once it is back.
    if (!recorded && err instanceof Error) Object.assign(err, { unrecordedRunId: runId });
    throw err;
  } finally {
    clearInterval(heartbeat);
    progress.stop();
    await dropStaging(db, sourceId, runId).catch(() => undefined);
    await lease.close();
  }
}

/**
 * Analyzes the tables the publication wrote, inside its transaction (ANALYZE counts the rows
 * this transaction inserted): a table published without statistics is planned as if it held
 * anything, e.g. the 2.6 M associations read per commune by a parallel plan instead of its index,
 * 25 packs/s instead of 90 over the national build. Tables whose writes are only DDL (the BAN
 * attaches partitions it analyzed itself) show no row change and are skipped.
 */
async function analyzeWritten(tx: PoolClient): Promise<void> {
  const { rows } = await tx.query(
    `select format('%I.%I', schemaname, relname) as t from pg_stat_xact_user_tables
      where schemaname = 'public' and n_tup_ins + n_tup_upd + n_tup_del > 0 order by 1`,
  );
  for (const r of rows) await tx.query(`analyze ${r.t}`);
}

/** True when each file has the same SHA-256 as in the last successful run of the source. */
async function sameAsLastSuccess(db: import('pg').Pool, source: string, runId: number, files: LocalFile[]): Promise<boolean> {
  const { rows } = await db.query(
    `select p.resource, p.sha256 from provenance p
      where p.run_id = (select id from runs where source = $1 and status = 'succeeded' and id <> $2 order by id desc limit 1)`,
    [source, runId],
  );
  if (!rows.length) return false;
  const prev = new Map(rows.map((r) => [r.resource, r.sha256]));
  return prev.size === files.length && files.every((f) => prev.get(f.resource) === f.sha256);
}
