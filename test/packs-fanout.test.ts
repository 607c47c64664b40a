import path from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { freshDatabase } from './helpers/db';
import { parseSettings, resetSettings, settings } from '../config/settings';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { listRuns } from '../src/cli';
import { readManifest } from '../src/packs/store';
import {
  childJobId,
  closePacksQueue,
  enqueuePacksBuild,
  EnqueuedPacksBuild,
  PacksBuildActiveError,
  PacksBuildResult,
  packsQueue,
  PacksWorker,
  prunePackBuildLedger,
  startPacksWorker,
} from '../src/queue/packs';
import { closeQueues, runsQueue } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * The fan-out on the real Redis with two separate worker processes (`dotation worker`), as two
 * machines would run them: one parent job per build, one child per département.
 */
const ROOT = path.resolve(__dirname, '..');
const DEPS = ['2A', '2B', '35', '974'];

interface WorkerProc {
  proc: ChildProcess;
  pid: number;
  output: string[];
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
const workers: WorkerProc[] = [];
/** Every queue prefix this file used (obliterated in afterAll). */
const prefixes: string[] = [];
let inProcessWorker: PacksWorker | undefined;
/** Ledger retention of this file: the last 2 builds (workers and this process read it from the env). */
const KEPT = 2;

function spawnWorker(): Promise<WorkerProc> {
  const proc = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', 'worker', '--concurrency', '2'], {
    cwd: ROOT,
    env: { ...process.env, ...db.env, NETWORK: 'never', MIRROR_DIR: '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: WorkerProc = { proc, pid: proc.pid!, output: [] };
  workers.push(w);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${proc.pid} not ready after 60 s:\n${w.output.join('')}`)), 60_000);
    const onData = (b: Buffer) => {
      w.output.push(b.toString());
      if (w.output.join('').includes("processing 'packs'")) {
        clearTimeout(timer);
        resolve(w);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${proc.pid} exited (${code}):\n${w.output.join('')}`));
    });
  });
}

async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => w.proc.once('exit', () => resolve()));
  w.proc.kill('SIGTERM');
  const timer = setTimeout(() => w.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Polls the parent job until it is completed or failed. */
async function waitForParent(jobId: string, timeoutMs = 100_000): Promise<{ state: string; value: PacksBuildResult }> {
  const t0 = Date.now();
  for (;;) {
    const job = await packsQueue().getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (state === 'completed' || state === 'failed') return { state, value: job!.returnvalue as PacksBuildResult };
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `job ${jobId} still '${state}' after ${timeoutMs} ms; workers said:\n${workers.map((w) => w.output.join('')).join('\n---\n')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function expectedCodes(): Promise<string[]> {
  const { rows } = await pool().query(
    `select code from communes where type in ('commune-actuelle', 'arrondissement-municipal')
        and coalesce(departement, left(code, 2)) = any($1::text[]) order by code`,
    [DEPS],
  );
  return rows.map((r) => r.code as string);
}

beforeAll(async () => {
  db = await freshDatabase({ PACK_BUILDS_KEPT: String(KEPT) });
  expect(settings().QUEUE_PREFIX).toMatch(/^dotation-test-/);
  prefixes.push(settings().QUEUE_PREFIX);
  const r = await runSource('populations', { trigger: 'test', log: () => undefined });
  expect(r.status).toBe('succeeded');
  await Promise.all([spawnWorker(), spawnWorker()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map(stopWorker));
  await inProcessWorker?.close();
  for (const prefix of prefixes) {
    process.env.QUEUE_PREFIX = prefix;
    resetSettings();
    await packsQueue()
      .obliterate({ force: true })
      .catch(() => undefined);
    await runsQueue()
      .obliterate({ force: true })
      .catch(() => undefined);
    await closePacksQueue();
    await closeQueues();
  }
  await closeRedisConnections();
  await db?.cleanup();
}, 60_000);

describe('packs fan-out on BullMQ with two worker processes', () => {
  let codes: string[];

  test('every pack of the départements is built exactly once, the build is one run with its progress', async () => {
    codes = await expectedCodes();
    expect(codes.length).toBeGreaterThan(600); // 2A + 2B + 35 + 974
    const b = await enqueuePacksBuild({ departements: DEPS, trigger: 'test', backoffMs: 100 });
    expect(b.jobId).toBe(`packs.${b.buildId}`);
    expect(b.departements).toEqual(DEPS);
    expect(b.communes).toBe(codes.length);
    const {
      rows: [queued],
    } = await pool().query(`select source, status, job_id from runs where id = $1`, [b.runId]);
    expect(queued.source).toBe('packs');
    expect(queued.job_id).toBe(b.jobId);

    const { state, value } = await waitForParent(b.jobId);
    expect(state).toBe('completed');
    expect(value).toMatchObject({
      status: 'succeeded',
      built: codes.length,
      unchanged: 0,
      failed: 0,
      failedDepartements: [],
      departements: DEPS.length,
    });

    // The ledger: one row per commune, status built, no duplicate, none missing.
    const { rows: ledger } = await pool().query(
      `select code, count(*)::int as n, count(*) filter (where status = 'built')::int as built from pack_build_communes
        where build_id = $1 group by code order by code`,
      [b.buildId],
    );
    expect(ledger.map((r) => r.code)).toEqual(codes);
    expect(ledger.filter((r) => r.n !== 1 || r.built !== 1)).toEqual([]);
    // The disk agrees: each commune has exactly one version, the first.
    const multi = codes.filter((c) => {
      const m = readManifest(settings().PACKS_DIR, c);
      return !m || m.seq !== 1 || m.versions.length !== 1;
    });
    expect(multi).toEqual([]);
    const {
      rows: [pb],
    } = await pool().query(`select count(*)::int as n from pack_builds where code = any($1::text[])`, [codes]);
    expect(pb.n).toBe(codes.length);

    // Each child ran once, by one of the two worker processes.
    const { rows: deps } = await pool().query(
      `select departement, status, attempt, worker, communes, built from pack_build_departements where build_id = $1 order by departement`,
      [b.buildId],
    );
    expect(deps.map((d) => [d.departement, d.status, d.attempt])).toEqual([...DEPS].sort().map((d) => [d, 'succeeded', 1]));
    const pids = new Set(workers.map((w) => w.pid));
    for (const d of deps) expect(pids.has(Number(String(d.worker).split(':').pop()))).toBe(true);
    const byWorker = new Map<string, string[]>();
    for (const d of deps) byWorker.set(d.worker, [...(byWorker.get(d.worker) ?? []), d.departement]);

    console.log(
      `packs fan-out: ${codes.length} packs, ${byWorker.size} worker process(es) took part: ${[...byWorker].map(([w, ds]) => `${w} → ${ds.join(', ')}`).join('; ')}`,
    );

    // The run: succeeded, progress complete, visible in `dotation runs`.
    const {
      rows: [run],
    } = await pool().query(`select status, trigger, rows_read, rows_published, progress, error from runs where id = $1`, [b.runId]);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'test', rows_read: codes.length, rows_published: codes.length, error: null });
    expect(run.progress).toMatchObject({
      departementsTotal: 4,
      departementsDone: 4,
      departementsFailing: 0,
      communesTotal: codes.length,
      built: codes.length,
    });
    const listed = (await listRuns(10)).find((r) => r.id === b.runId)!;
    expect(listed).toMatchObject({
      source: 'packs',
      status: 'succeeded',
      progress: `dep 4/4, built ${codes.length}/${codes.length}, unchanged 0`,
    });
  });

  test('a failing child is retried alone: the others are not rebuilt, only the changed communes are', async () => {
    await pool().query(`update population_legale set pmun = pmun + 1, ptot = ptot + 1
                         where code_commune in (select code from communes where departement = '974')`);
    const {
      rows: [n974],
    } = await pool().query(`select count(*)::int as n from communes where departement = '974' and type = 'commune-actuelle'`);
    // Rows edited by hand (no new publication): ask the build to re-read them.
    const b = await enqueuePacksBuild({
      departements: DEPS,
      trigger: 'test',
      recheck: true,
      backoffMs: 100,
      failFirstAttempts: { '974': 1 },
    });
    const { state, value } = await waitForParent(b.jobId);
    expect(state).toBe('completed');
    expect(value).toMatchObject({
      status: 'succeeded',
      built: n974.n,
      unchanged: codes.length - n974.n,
      failed: 0,
      failedDepartements: [],
    });

    const child974 = await packsQueue().getJob(childJobId(b.buildId, '974'));
    expect(child974!.attemptsMade).toBe(2);
    for (const d of DEPS.filter((x) => x !== '974')) expect((await packsQueue().getJob(childJobId(b.buildId, d)))!.attemptsMade).toBe(1);
    const { rows: deps } = await pool().query(
      `select departement, attempt, built, unchanged from pack_build_departements where build_id = $1 order by departement`,
      [b.buildId],
    );
    expect(deps.map((d) => [d.departement, d.attempt])).toEqual([
      ['2A', 1],
      ['2B', 1],
      ['35', 1],
      ['974', 2],
    ]);
    const { rows: built } = await pool().query(
      `select code from pack_build_communes where build_id = $1 and status = 'built' order by code`,
      [b.buildId],
    );
    expect(built.every((r) => (r.code as string).startsWith('974'))).toBe(true);
    expect(built).toHaveLength(n974.n);
    expect(readManifest(settings().PACKS_DIR, '97411')!.versions).toHaveLength(2);
    expect(readManifest(settings().PACKS_DIR, '35238')!.versions).toHaveLength(1);
  });

  test('a child that fails for good ends the build as failed, naming the département; the other children complete', async () => {
    const b = await enqueuePacksBuild({ departements: DEPS, trigger: 'test', attempts: 2, backoffMs: 100, failFirstAttempts: { '2A': 5 } });
    const { state, value } = await waitForParent(b.jobId);
    expect(state).toBe('completed');
    expect(value).toMatchObject({ status: 'failed', built: 0, failedDepartements: ['2A'] });
    expect(await (await packsQueue().getJob(childJobId(b.buildId, '2A')))!.getState()).toBe('failed');
    const {
      rows: [run],
    } = await pool().query(`select status, error, progress from runs where id = $1`, [b.runId]);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^1 of 4 département\(s\) failed: 2A \(injected failure/);
    expect(run.progress).toMatchObject({ departementsDone: 3, departementsFailing: 1 });
  });

  describe('one build at a time', () => {
    let winner: EnqueuedPacksBuild;
    let second: EnqueuedPacksBuild;

    test('a build asked for while another is queued is refused (API and CLI exit code 75); each pack is built once; then a new build starts', async () => {
      // A queue of its own, with no worker yet: the first build stays queued (waiting for its children) as long as the test needs.
      process.env.QUEUE_PREFIX = `${prefixes[0]}-solo`;
      resetSettings();
      prefixes.push(settings().QUEUE_PREFIX);
      const packsRuns = async () => Number((await pool().query(`select count(*) as n from runs where source = 'packs'`)).rows[0].n);
      const runsBefore = await packsRuns();

      // Every pack of 2A has something new to build.
      await pool().query(`update population_legale set pmun = pmun + 1, ptot = ptot + 1
                           where code_commune in (select code from communes where departement = '2A')`);

      // Two builds asked for at the same instant: exactly one is enqueued, the other is refused naming it.
      const both = await Promise.allSettled([
        enqueuePacksBuild({ departements: ['2A'], recheck: true, trigger: 'test', backoffMs: 100 }),
        enqueuePacksBuild({ departements: ['2A'], recheck: true, trigger: 'test', backoffMs: 100 }),
      ]);
      const ok = both.filter((r): r is PromiseFulfilledResult<EnqueuedPacksBuild> => r.status === 'fulfilled');
      const refused = both.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      winner = ok[0].value;
      const err = refused[0].reason as PacksBuildActiveError;
      expect(err).toBeInstanceOf(PacksBuildActiveError);
      expect(err.exitCode).toBe(75);
      expect(err.active).toMatchObject({ jobId: winner.jobId, runId: winner.runId, status: 'queued', state: 'waiting-children' });
      expect(err.message).toContain(`packs build refused: packs build ${winner.jobId} (run ${winner.runId}, queued`);

      // Asked for later, with other options: still refused, nothing recorded.
      await expect(enqueuePacksBuild({ communes: ['2B033'], trigger: 'test' })).rejects.toThrow(PacksBuildActiveError);
      expect(await packsRuns()).toBe(runsBefore + 1);

      // The CLI, as another machine would run it: exit code 75 and a message naming the active build.
      const cli = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', 'packs', 'build', '--queue', '--departement', '35'], {
        cwd: ROOT,
        env: { ...process.env, ...db.env, QUEUE_PREFIX: settings().QUEUE_PREFIX },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      cli.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
      cli.stderr!.on('data', (b: Buffer) => out.push(b.toString()));
      const code = await new Promise<number | null>((resolve) => cli.once('exit', (c) => resolve(c)));
      expect({ code, out: out.join('') }).toEqual({
        code: 75,
        out: expect.stringContaining(`packs build refused: packs build ${winner.jobId} (run ${winner.runId}`),
      });
      expect(await packsRuns()).toBe(runsBefore + 1);

      // A worker comes: the one build runs; every pack of 2A is built exactly once.
      inProcessWorker = await startPacksWorker({ concurrency: 1, log: () => undefined });
      const { state, value } = await waitForParent(winner.jobId);
      expect(state).toBe('completed');
      expect(value).toMatchObject({ status: 'succeeded', built: winner.communes, failed: 0 });
      const { rows: ledger } = await pool().query(
        `select code, count(*)::int as n from pack_build_communes where build_id = $1 and status = 'built' group by code`,
        [winner.buildId],
      );
      expect(ledger).toHaveLength(winner.communes);
      expect(ledger.filter((r) => r.n !== 1)).toEqual([]);
      expect(readManifest(settings().PACKS_DIR, '2A004')!.versions).toHaveLength(2);
      const {
        rows: [others],
      } = await pool().query(`select count(*)::int as n from runs where source = 'packs' and id > $1`, [winner.runId]);
      expect(others.n).toBe(0);

      // It has ended: a new build can start.
      second = await enqueuePacksBuild({ departements: ['2B'], trigger: 'test', backoffMs: 100 });
      expect((await waitForParent(second.jobId)).state).toBe('completed');
      await inProcessWorker.close();
      inProcessWorker = undefined;
    });

    test(`ledger retention: only the last PACK_BUILDS_KEPT (${KEPT}) builds keep their rows; a build still running is never pruned`, async () => {
      expect(parseSettings({}).PACK_BUILDS_KEPT).toBe(10);
      expect(() => parseSettings({ PACK_BUILDS_KEPT: '0' })).toThrow(/PACK_BUILDS_KEPT/);
      expect(settings().PACK_BUILDS_KEPT).toBe(KEPT);

      // Five builds ended in this file (three by the worker processes, two here); each end pruned the older ones.
      const {
        rows: [all],
      } = await pool().query(`select count(*)::int as n from runs where source = 'packs' and status in ('succeeded', 'failed')`);
      expect(all.n).toBe(5);
      const ledgerBuilds = async (table: string) =>
        (await pool().query(`select distinct build_id from ${table}`)).rows.map((r) => r.build_id as string).sort();
      const lastTwo = [winner.buildId, second.buildId].sort();
      expect(await ledgerBuilds('pack_build_communes')).toEqual(lastTwo);
      expect(await ledgerBuilds('pack_build_departements')).toEqual(lastTwo);
      // Only the ledger goes: the runs themselves stay.
      const {
        rows: [runs],
      } = await pool().query(`select count(*)::int as n from runs where source = 'packs'`);
      expect(runs.n).toBe(5);

      // Keeping 1: a build whose run is still running keeps its rows though it is not among the last ones.
      await pool().query(`update runs set status = 'running' where id = $1`, [winner.runId]);
      expect(await prunePackBuildLedger(1)).toEqual({ builds: 0, communeRows: 0 });
      expect(await ledgerBuilds('pack_build_communes')).toEqual(lastTwo);
      await pool().query(`update runs set status = 'succeeded' where id = $1`, [winner.runId]);
      const {
        rows: [n2A],
      } = await pool().query(`select count(*)::int as n from pack_build_communes where build_id = $1`, [winner.buildId]);
      expect(await prunePackBuildLedger(1)).toEqual({ builds: 1, communeRows: n2A.n });
      expect(await ledgerBuilds('pack_build_communes')).toEqual([second.buildId]);
      expect(await ledgerBuilds('pack_build_departements')).toEqual([second.buildId]);
    });

    test("a build whose jobs are gone from Redis no longer blocks (nothing is locked outside BullMQ's own job states)", async () => {
      expect(settings().QUEUE_PREFIX).toBe(`${prefixes[0]}-solo`); // still no worker on this queue
      const stuck = await enqueuePacksBuild({ departements: ['35'], trigger: 'test' });
      await expect(enqueuePacksBuild({ departements: ['974'], trigger: 'test' })).rejects.toThrow(`packs build ${stuck.jobId}`);
      // What an operator does to drop a queued build: remove its parent job (BullMQ removes the children with it).
      await (await packsQueue().getJob(stuck.jobId))!.remove();
      const next = await enqueuePacksBuild({ departements: ['974'], trigger: 'test' });
      expect(next.runId).toBeGreaterThan(stuck.runId);
      expect(await (await packsQueue().getJob(next.jobId))!.getState()).toBe('waiting-children');
    });
  });
});
