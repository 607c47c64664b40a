import { settings } from '../config/settings';
import { pipelineOrder, getPipeline } from '../config/sources';
import { ensureDatabase, migrate } from './db/migrate';
import { terminalProgress, silentProgress } from './engine/progress';
import { markInterruptedRuns, runSource } from './engine/runner';
import { MissingResourceError } from './engine/errors';
import { buildPacks } from './packs/build';
import { withInlineBuildLock } from './packs/lock';
import { pool } from './db/pool';
import { logTo } from './log';

export interface StartOptions {
  /** Start the HTTP server at the end (false: load and build only). */
  serve?: boolean;
  /** Terminal progress bars (default: when stderr is a TTY or LOG_LEVEL is not silent). */
  progress?: boolean;
  log?: (m: string) => void;
  /** Build the packs of these communes only (tests; default: every commune). */
  communes?: string[];
}

interface StartStep {
  step: string;
  status: string;
  millesime: string;
  rows: string;
  seconds: string;
  note: string;
}

function table(rows: StartStep[]): string {
  const cols: (keyof StartStep)[] = ['step', 'status', 'millesime', 'rows', 'seconds', 'note'];
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (v: string[]) =>
    v
      .map((x, i) => x.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

/**
 * The main job (`dotation start`, `npm start`): database and migrations, every source in
 * order (mirror, else download, else embedded default; a source that cannot be loaded is
 * reported and skipped), every commune pack, then the HTTP server.
 * Returns -1 when serving (the process keeps running); otherwise 0, or 1 when a pack failed.
 */
export async function start(opts: StartOptions = {}): Promise<number> {
  const s = settings();
  const quiet = s.LOG_LEVEL === 'silent';
  const log = opts.log ?? logTo('start');
  const progress = () => ((opts.progress ?? !quiet) ? terminalProgress() : silentProgress);
  const steps: StartStep[] = [];
  const t0 = Date.now();

  await ensureDatabase(s.DATABASE_URL);
  const applied = await migrate(s.DATABASE_URL, log);
  steps.push({
    step: 'migrate',
    status: 'ok',
    millesime: '',
    rows: '',
    seconds: ((Date.now() - t0) / 1000).toFixed(1),
    note: applied.length ? `${applied.length} applied` : 'up to date',
  });
  const interrupted = await markInterruptedRuns(120, s.DATABASE_URL);
  if (interrupted) log(`${interrupted} run(s) left running by a stopped process marked interrupted`);
  log(`mirror: ${s.MIRROR_DIR || '(none)'}; network: ${s.NETWORK}`);

  for (const id of pipelineOrder()) {
    const t = Date.now();
    try {
      const r = await runSource(id, {
        trigger: 'start',
        progress: progress(),
        settings: s,
        log: opts.log ? (m) => log(`[${id}] ${m}`) : logTo(id),
      });
      const origin = r.files.length ? [...new Set(r.files.map((f) => f.origin))].join('+') : 'embedded';
      steps.push({
        step: id,
        status: r.status,
        millesime: r.millesime ?? '',
        rows: String(r.published),
        seconds: ((Date.now() - t) / 1000).toFixed(1),
        note: origin,
      });
    } catch (err) {
      const missing = err instanceof MissingResourceError;
      const message = (err as Error).message;
      log(`[${id}] ${missing ? 'skipped: no file in the mirror, no download and no embedded default' : 'failed'}: ${message}`);
      steps.push({
        step: id,
        status: missing ? 'skipped' : 'failed',
        millesime: '',
        rows: '',
        seconds: ((Date.now() - t) / 1000).toFixed(1),
        note: message.slice(0, 70),
      });
      // The referential is required by everything else.
      if (getPipeline(id).order === 0 && id === 'cog') throw err;
    }
  }

  const tp = Date.now();
  const packsLog = opts.log ? (m: string) => log(`[packs] ${m}`) : logTo('packs');
  // One build writing PACKS_DIR at a time (a fan-out is refused meanwhile; another inline build is waited for).
  const packs = await withInlineBuildLock(pool(s.DATABASE_URL), packsLog, () =>
    buildPacks({ communes: opts.communes, progress: progress(), settings: s, log: packsLog }),
  );
  steps.push({
    step: 'packs',
    status: packs.failed ? 'partial' : 'ok',
    millesime: '',
    rows: String(packs.built + packs.unchanged),
    seconds: ((Date.now() - tp) / 1000).toFixed(1),
    note: `${packs.built} built, ${packs.unchanged} unchanged, ${packs.failed} failed`,
  });

  if (!quiet) console.log(`\n${table(steps)}\n\npacks in ${s.PACKS_DIR}; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Without the server, the exit status says whether every pack was built (the server keeps serving the others).
  if (opts.serve === false) return packs.failed ? 1 : 0;
  // require, not import(): the CLI also runs under `node -r tsx/cjs` (bin/dotation.js), which hooks require only.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startServer } = require('./server/app') as typeof import('./server/app');
  await startServer();
  return -1;
}
