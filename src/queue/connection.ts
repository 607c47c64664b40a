import { Queue } from 'bullmq';
import IORedis, { Redis } from 'ioredis';
import { settings } from '../../config/settings';
import { logTo } from '../log';

/** Every Redis connection this module opened, so `closeRedisConnections()` can end them all. */
const opened = new Set<Redis>();

/** REDIS_URL without its password, for messages. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL';
  }
}

/** A Redis connection error (reported by the connection itself, once, not by every queue and worker using it). */
export function isRedisConnectionError(err: Error): boolean {
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|connect ETIMEDOUT|max retries per request/i.test(
    err.message,
  );
}

/**
 * Redis cannot be reached: what was asked did not happen (CLI exit code 69, EX_UNAVAILABLE; the
 * HTTP layer answers 503 with Retry-After).
 */
export class RedisUnavailableError extends Error {
  readonly exitCode = 69;
  override name = 'RedisUnavailableError';
}

/** How long a producer (enqueue, scheduler start) waits for Redis before saying it is unreachable. */
const PRODUCER_WAIT_MS = 5000;
/**
 * How long an HTTP request (the operator's "run now") waits for Redis: a person is waiting, and a
 * 503 with Retry-After tells the client when to try again.
 */
export const REQUEST_WAIT_MS = 2000;
/** A consumer (worker) waiting for Redis says so again this often. */
const STILL_DOWN_EVERY_MS = 30_000;

export interface RedisOptions {
  /**
   * A producer (enqueue, scheduler, operator API) fails fast when Redis is down: a command
   * waits for one reconnection, not forever. A consumer (worker, the default) waits for Redis
   * as long as it takes (what BullMQ requires for its blocking commands) and says so.
   */
  producer?: boolean;
}

/**
 * A new ioredis connection to REDIS_URL. Connection errors are reported once when Redis goes
 * away, again every 30 s while it stays away, and once when it is back (not at every retry).
 */
export function redisConnection(url = settings().REDIS_URL, opts: RedisOptions = {}): Redis {
  const conn = new IORedis(
    url,
    opts.producer
      ? { maxRetriesPerRequest: 1, connectTimeout: PRODUCER_WAIT_MS, enableReadyCheck: true }
      : { maxRetriesPerRequest: null, enableReadyCheck: true },
  );
  let downSince = 0;
  let saidAt = 0;
  const say = logTo('redis', 'warn');
  // Without a listener, a connection error would be an unhandled 'error' event.
  conn.on('error', (err: Error) => {
    const now = Date.now();
    if (!downSince) {
      downSince = now;
      saidAt = now;
      say(
        `${redisLabel(url)} unreachable (${err.message})${opts.producer ? '' : '; retrying until it is back (jobs wait, nothing is lost)'}`,
      );
    } else if (now - saidAt >= STILL_DOWN_EVERY_MS) {
      saidAt = now;
      say(`${redisLabel(url)} still unreachable after ${Math.round((now - downSince) / 1000)} s (${err.message}); retrying`);
    }
  });
  conn.on('ready', () => {
    if (downSince) say(`${redisLabel(url)} is back after ${Math.round((Date.now() - downSince) / 1000)} s`);
    downSince = 0;
  });
  conn.on('end', () => opened.delete(conn));
  opened.add(conn);
  return conn;
}

/**
 * Resolves once `conn` is ready, or throws RedisUnavailableError after `ms` (`what` says what
 * could not be done: "the run was not enqueued").
 */
export async function redisReady(conn: Redis, what: string, ms = PRODUCER_WAIT_MS): Promise<void> {
  if (conn.status === 'ready') return;
  let lastError = '';
  const onError = (e: Error) => {
    lastError = e.message;
  };
  conn.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        conn.off('ready', onReady);
        reject(
          new RedisUnavailableError(
            `Redis is not reachable at ${redisLabel(settings().REDIS_URL)}${lastError ? ` (${lastError})` : ''} after ${ms / 1000} s: ${what}`,
          ),
        );
      }, ms);
      const onReady = () => {
        clearTimeout(t);
        resolve();
      };
      conn.once('ready', onReady);
    });
  } finally {
    conn.off('error', onError);
  }
}

/** Closes a connection opened by `redisConnection`, quietly if it is already gone. */
export async function closeRedis(conn: Redis): Promise<void> {
  opened.delete(conn);
  if (conn.status === 'end') return;
  await conn.quit().catch(() => conn.disconnect());
}

export async function closeRedisConnections(): Promise<void> {
  await Promise.all([...opened].map((c) => closeRedis(c)));
}

interface OpenQueue {
  key: string;
  queue: Queue;
  conn: Redis;
}
const queues = new Map<string, OpenQueue>();

/**
 * The BullMQ queue `name` for the current settings (REDIS_URL, QUEUE_PREFIX), opened on first
 * use and reopened when those settings change (tests switch prefixes between files).
 */
export function sharedQueue<D, R>(name: string): Queue<D, R> {
  const s = settings();
  const key = `${s.REDIS_URL}|${s.QUEUE_PREFIX}`;
  const open = queues.get(name);
  if (open?.key === key) return open.queue as unknown as Queue<D, R>;
  if (open) {
    // Settings changed: let the old queue close in the background
    // (closeRedisConnections() still reaches its connection until it is closed).
    void open.queue
      .close()
      .catch(() => undefined)
      .then(() => closeRedis(open.conn));
  }
  const conn = redisConnection(s.REDIS_URL, { producer: true });
  const queue = new Queue<D, R>(name, { connection: conn, prefix: s.QUEUE_PREFIX });
  queue.on('error', (err) => {
    if (!isRedisConnectionError(err)) logTo(`queue ${name}`, 'error')(err.message);
  });
  queues.set(name, { key, queue: queue as unknown as Queue, conn });
  return queue;
}

/** The shared queue `name` once its connection is ready, or RedisUnavailableError after `ms` (a few seconds). */
export async function readyQueue<D, R>(name: string, what: string, ms = PRODUCER_WAIT_MS): Promise<Queue<D, R>> {
  const queue = sharedQueue<D, R>(name);
  await redisReady(queues.get(name)!.conn, what, ms);
  return queue;
}

/** Closes the queue `name` and its Redis connection (end of CLI commands, tests). */
export async function closeSharedQueue(name: string): Promise<void> {
  const open = queues.get(name);
  queues.delete(name);
  if (!open) return;
  await open.queue.close().catch(() => undefined);
  await closeRedis(open.conn);
}
