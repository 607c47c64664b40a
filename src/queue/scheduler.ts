import cron, { ScheduledTask } from 'node-cron';
import type { Job } from 'bullmq';
import { sourceRegistry } from '../../config/sources';
import { closePools } from '../db/pool';
import { readyQueue } from './connection';
import { closeQueues, enqueueRun, RUNS_QUEUE, RunJobData } from './queue';
import { logTo, logger } from '../log';

const SCHEDULE_TIMEZONE = 'Europe/Paris';

/**
 * The next `count` slots of a cron expression as the scheduler fires them (node-cron, Europe/Paris):
 * the operator console shows the next one of each source. The task is only created to ask it.
 */
export function nextSlots(expr: string, count = 1): Date[] {
  if (!cron.validate(expr)) return [];
  const task = cron.createTask(expr, () => undefined, { timezone: SCHEDULE_TIMEZONE });
  try {
    return task.getNextRuns(count);
  } finally {
    void task.destroy();
  }
}

/**
 * Job id of the scheduled run of `source` for the slot `at`, to the minute, in UTC:
 * `run:<source>:<YYYYMMDDTHHmmZ>`. Every scheduler computes the same id for the same slot,
 * and BullMQ adds nothing when a job with that id already exists, so two schedulers never
 * enqueue the same run twice. The time is in ISO 8601 basic format because BullMQ refuses
 * custom ids with more than two ':'.
 */
export function scheduledRunJobId(source: string, at: Date): string {
  if (Number.isNaN(at.getTime())) throw new Error(`scheduledRunJobId: invalid date for ${source}`);
  const iso = at.toISOString(); // 2026-01-05T03:00:27.123Z
  const minute = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
  return `run:${source}:${minute}`;
}

/** Enqueues the run of `source` for the slot `at` (idempotent per source and minute). */
async function enqueueScheduledRun(source: string, at: Date): Promise<Job<RunJobData>> {
  return enqueueRun(source, { trigger: 'schedule', jobId: scheduledRunJobId(source, at) });
}

export interface SchedulerHandle {
  /** One cron task per source, by source id. */
  tasks: Map<string, ScheduledTask>;
  /** What a task does when it fires: enqueue the slot `at` of `source`. */
  fire: (source: string, at: Date) => Promise<Job<RunJobData>>;
  /** Stops and destroys every cron task (the queue stays open: `closeQueues()`). */
  stop: () => Promise<void>;
}

export interface SchedulerOptions {
  /** Stop the crons, close the queue and exit on SIGTERM/SIGINT (default true; tests pass false). */
  handleSignals?: boolean;
  /** Sources to schedule (default: every source of the registry). */
  sources?: string[];
  log?: (m: string) => void;
}

/**
 * Starts one cron per source (`source.schedule`, Europe/Paris). A cron only enqueues a run with
 * a deterministic job id; workers do the work.
 */
export async function startScheduler(opts: SchedulerOptions = {}): Promise<SchedulerHandle> {
  const log = opts.log ?? logTo('scheduler');
  // A scheduler that cannot enqueue would only fail when a slot fires, maybe days later: refuse to start.
  await readyQueue(RUNS_QUEUE, 'the scheduler did not start (it only enqueues runs: start Redis first)');
  const registry = sourceRegistry();
  const ids = opts.sources ?? [...registry.keys()];
  const tasks = new Map<string, ScheduledTask>();

  const fire = async (source: string, at: Date) => {
    const job = await enqueueScheduledRun(source, at);
    log(`${source}: run for ${at.toISOString().slice(0, 16)}Z enqueued as job ${job.id} (kept once per slot)`);
    return job;
  };

  for (const id of ids) {
    const pipeline = registry.get(id);
    if (!pipeline) throw new Error(`scheduler: unknown source '${id}'`);
    const expr = pipeline.source.schedule;
    if (!cron.validate(expr)) throw new Error(`scheduler: ${id}: invalid cron expression '${expr}'`);
    const task = cron.schedule(
      expr,
      async (ctx) => {
        try {
          await fire(id, ctx.date);
        } catch (err) {
          log(`${id}: could not enqueue the scheduled run: ${(err as Error).message}`);
        }
      },
      { timezone: SCHEDULE_TIMEZONE, name: `dotation:${id}`, noOverlap: true },
    );
    tasks.set(id, task);
    log(`${id}: '${expr}' (${SCHEDULE_TIMEZONE}), next run ${task.getNextRun()?.toISOString() ?? 'never'}`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      for (const t of tasks.values()) await t.destroy();
      tasks.clear();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    stop()
      .then(() => closeQueues())
      .then(() => closePools())
      .then(
        () => process.exit(0),
        (err) => {
          logger().error(`scheduler shutdown: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };
  if (opts.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { tasks, fire, stop };
}
