import IORedis, { Redis } from 'ioredis';
import { settings } from '../../config/settings';

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
    if (settings().LOG_LEVEL !== 'silent') console.error(`dotation: redis: ${err.message}`);
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
