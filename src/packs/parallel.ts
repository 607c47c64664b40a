import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { BuildContext, CommuneOutcome } from './build';

/**
 * A large pack build spread over processes (PACK_BUILD_PROCESSES).
 *
 * Why processes: a pack's rendering (CSV, JSON, LISEZMOI and its HTML), its validation against the
 * Table Schemas and the main-thread part of zipping are synchronous JavaScript, about 15–25 ms a
 * pack with every source; one process keeps one core busy while PostgreSQL and zlib's threads use
 * part of the other. Each child process runs the very same `buildBatch` on the départements it is
 * given, one at a time, and writes its packs and ledger rows itself; the parent lists the communes,
 * decides which are fresh, hands out départements as children become free, and relays each
 * commune's outcome to the caller (report, progress, onCommune), so a caller cannot tell a parallel
 * build from one in a single process (test/packs-parallel.test.ts compares their packs byte for byte).
 *
 * Safety:
 * - every child loads the plan itself and must find the parent's global key (the sources'
 *   millésimes and runs): if a source was published between the two, the child refuses and its
 *   départements are built here, in the parent, with the parent's plan;
 * - a child that dies fails the communes of its current département not yet reported (with the
 *   reason), and the départements not yet handed out are built by the other children or, when none
 *   is left, here;
 * - a child whose parent dies (killed build) sees its IPC channel close and exits: no orphan writer.
 */

/** Parent → child. */
export type ToChild =
  | { t: 'init'; settings: BuildContext['s']; force: boolean; globalKey: string; buildId: string }
  | { t: 'batch'; dep: string; codes: string[]; keys: [string, string][] };
/** Child → parent. */
export type ToParent =
  | { t: 'ready' }
  | { t: 'refused'; error: string }
  | { t: 'commune'; o: CommuneOutcome }
  | { t: 'log'; m: string }
  | { t: 'batch-done'; dep: string; built: string[] };

export interface ParallelOptions {
  ctx: BuildContext;
  buildId: string;
  batches: [string, string[]][];
  keys: Map<string, string>;
  processes: number;
  emit: (o: CommuneOutcome) => void;
  log: (m: string) => void;
  /** Builds départements in this process (build.ts's buildHere): what no child could build. */
  here: (batches: [string, string[]][]) => Promise<string[]>;
}

/** Runs the child entry with the same TypeScript loader as the CLI (tsx), whatever started this process. */
function startChild(): ChildProcess {
  return fork(path.join(__dirname, 'build-child.ts'), [], {
    execArgv: ['--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}

export async function buildInProcesses(o: ParallelOptions): Promise<string[]> {
  const { ctx, buildId, keys, emit, log } = o;
  const queue = [...o.batches];
  const builtCodes: string[] = [];
  /** Départements a child could not build (refused or died before starting them): built here afterwards. */
  const leftover: [string, string[]][] = [];
  const n = Math.min(o.processes, queue.length);

  const runChild = (i: number) =>
    new Promise<void>((resolve) => {
      const child = startChild();
      let current: { dep: string; codes: string[]; reported: Set<string> } | null = null;
      let finished = false;
      const send = (m: ToChild) => child.send(m);
      const next = () => {
        const b = queue.shift();
        if (!b) {
          current = null;
          finished = true;
          child.disconnect();
          return;
        }
        const [dep, codes] = b;
        current = { dep, codes, reported: new Set() };
        send({ t: 'batch', dep, codes, keys: codes.map((c) => [c, keys.get(c)!]) });
      };
      child.on('message', (m: ToParent) => {
        switch (m.t) {
          case 'ready':
            next();
            break;
          case 'refused':
            log(`pack build process ${i + 1}: ${m.error}; its départements are built by the others or by this process`);
            finished = true;
            child.disconnect();
            break;
          case 'commune':
            current?.reported.add(m.o.code);
            emit(m.o);
            break;
          case 'log':
            log(m.m);
            break;
          case 'batch-done':
            builtCodes.push(...m.built);
            next();
            break;
        }
      });
      child.on('error', (err) => log(`pack build process ${i + 1}: ${err.message}`));
      child.once('exit', (code, signal) => {
        if (!finished) {
          const why = `le processus de construction ${i + 1} s'est arrêté (${signal ?? `code ${code}`})`;
          log(`pack build process ${i + 1} exited (${signal ?? `code ${code}`})`);
          if (current) {
            if (current.reported.size === 0) leftover.push([current.dep, current.codes]);
            else
              for (const code of current.codes)
                if (!current.reported.has(code)) emit({ code, departement: current.dep, status: 'failed', error: why });
          }
        }
        resolve();
      });
      send({ t: 'init', settings: ctx.s, force: ctx.force, globalKey: ctx.globalKey, buildId });
    });

  await Promise.all(Array.from({ length: n }, (_, i) => runChild(i)));
  // What no child built (a refused plan, a child that died before its département started, or
  // départements left when every child had stopped): here, with the parent's plan.
  const rest = [...leftover, ...queue.splice(0)];
  if (rest.length) builtCodes.push(...(await o.here(rest)));
  return builtCodes;
}
