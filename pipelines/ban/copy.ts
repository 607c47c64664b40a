import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Streams COPY-ready CSV chunks into one table over `streams` connections at once (the
 * backend's CSV parsing is the bottleneck and runs on one core per COPY). Each chunk goes to
 * a stream that is not asking to drain; when all are, it waits for the first to drain
 * (backpressure: memory stays at a few chunks per stream). `between` runs after each chunk
 * (the caller flushes its quarantine there).
 */
export async function copyChunksParallel(db: Pool, sql: string, chunks: Readable, streams: number, between?: () => Promise<void>): Promise<void> {
  const clients: PoolClient[] = [];
  const feeds: PassThrough[] = [];
  const done: Promise<void>[] = [];
  let broken = false;
  try {
    for (let i = 0; i < streams; i++) {
      const client = await db.connect();
      clients.push(client);
      const feed = new PassThrough({ highWaterMark: 1 << 20 });
      feeds.push(feed);
      done.push(pipeline(feed, client.query(copyFrom(sql))));
    }
    // Surface a COPY failure at once instead of waiting on a drain that will never come.
    let failed: unknown;
    const failure = Promise.race(done.map((p) => p.then(() => new Promise<never>(() => undefined)))).catch((e) => { failed = e; throw e; });
    failure.catch(() => undefined);
    let next = 0;
    for await (const chunk of chunks) {
      if (failed) throw failed;
      let target = -1;
      for (let k = 0; k < feeds.length; k++) {
        const j = (next + k) % feeds.length;
        if (!feeds[j].writableNeedDrain) { target = j; break; }
      }
      if (target < 0) {
        await Promise.race([anyDrain(feeds), failure]);
        target = feeds.findIndex((f) => !f.writableNeedDrain);
        if (target < 0) target = next % feeds.length;
      }
      feeds[target].write(chunk);
      next = target + 1;
      if (between) await between();
    }
    for (const f of feeds) f.end();
    await Promise.all(done);
  } catch (err) {
    broken = true;
    for (const f of feeds) f.destroy(err as Error);
    await Promise.allSettled(done);
    throw err;
  } finally {
    // A connection whose COPY failed is discarded, not returned to the pool.
    for (const c of clients) c.release(broken ? true : undefined);
  }
}

/** Resolves when the first of the streams emits 'drain' (listeners removed afterwards). */
function anyDrain(feeds: PassThrough[]): Promise<void> {
  return new Promise((resolve) => {
    const off = () => { for (const f of feeds) f.off('drain', on); };
    const on = () => { off(); resolve(); };
    for (const f of feeds) f.on('drain', on);
  });
}
