import { Queue } from 'bullmq';
import IORedis, { Redis } from 'ioredis';
import { settings } from '../../config/settings';
import { logTo } from '../log';

/** Every Redis connection this module opened, so `closeRedisConnections()` can end them all. */
const opened = new Set<Redis>();

/**
 * A new ioredis connection to REDIS_URL. `maxRetriesPerRequest: null` is what BullMQ requires
 * for workers (blocking commands must wait for a reconnect instead of failing).
 */
export function redisConnection(url = settings().REDIS_URL): Redis {
  const conn = new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  // Without a listener, a connection error would be an unhandled 'error' event.
  conn.on('error', (err: Error) => {
    logTo('redis', 'error')(err.message);
  });
  conn.on('end', () => opened.delete(conn));
  opened.add(conn);
  return conn;
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
  const conn = redisConnection(s.REDIS_URL);
  const queue = new Queue<D, R>(name, { connection: conn, prefix: s.QUEUE_PREFIX });
  queue.on('error', (err) => {
    logTo(`queue ${name}`, 'error')(err.message);
  });
  queues.set(name, { key, queue: queue as unknown as Queue, conn });
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
