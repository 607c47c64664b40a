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

interface Lane { client: PoolClient; dep: string | null; feed: PassThrough | null; done: Promise<void> | null; copy: { rowCount: number } | null }

/**
 * COPY lanes routed by département: `lanes` connections, each running at most one COPY at a
 * time into the table of one département (`sqlFor(dep)`). A buffer goes to a lane already
 * copying its département that is not asking to drain, else to an idle lane, else a lane
 * copying another département is finished and reopened on this one (sorted input: the
 * previous département is done), else it waits for a drain. With the BAN sorted by commune,
 * both lanes end up copying the current département, so the two backends parse in parallel
 * while Node only ever holds a few buffers per lane.
 */
export class DepartementLanes {
  private readonly lanes: Lane[] = [];
  private failed: unknown = null;
  private failure: Promise<never>;
  private fail!: (e: unknown) => void;
  /** Rows the backends reported copied. */
  copied = 0;

  constructor(private readonly db: Pool, private readonly count: number, private readonly sqlFor: (dep: string) => string) {
    this.failure = new Promise<never>((_r, reject) => { this.fail = reject; });
    this.failure.catch(() => undefined);
  }

  private async lane(i: number): Promise<Lane> {
    while (this.lanes.length <= i) this.lanes.push({ client: await this.db.connect(), dep: null, feed: null, done: null, copy: null });
    return this.lanes[i];
  }

  private open(l: Lane, dep: string): void {
    const feed = new PassThrough({ highWaterMark: 1 << 20 });
    const copy = l.client.query(copyFrom(this.sqlFor(dep)));
    l.dep = dep; l.feed = feed; l.copy = copy;
    l.done = pipeline(feed, copy);
    l.done.catch((e) => { if (!this.failed) { this.failed = e; this.fail(e); } });
  }

  private async close(l: Lane): Promise<void> {
    if (!l.feed) return;
    if (!l.feed.writableEnded) l.feed.end();
    await Promise.race([l.done, this.failure]);
    this.copied += l.copy?.rowCount ?? 0;
    l.dep = null; l.feed = null; l.done = null; l.copy = null;
  }

  async write(dep: string, buf: Buffer): Promise<void> {
    for (;;) {
      if (this.failed) throw this.failed;
      let target: Lane | undefined = this.lanes.find((l) => l.dep === dep && !l.feed!.writableNeedDrain);
      if (!target && this.lanes.length < this.count) target = await this.lane(this.lanes.length);
      if (!target) target = this.lanes.find((l) => l.dep === null);
      if (!target) {
        const other = this.lanes.find((l) => l.dep !== dep);
        if (other) { await this.close(other); target = other; }
      }
      if (target) {
        if (target.dep === null) this.open(target, dep);
        target.feed!.write(buf);
        return;
      }
      await Promise.race([anyDrain(this.lanes.map((l) => l.feed!)), this.failure]);
    }
  }

  /** Ends every COPY (waits for the backends). */
  async end(): Promise<void> {
    for (const l of this.lanes) if (l.feed && !l.feed.writableEnded) l.feed.end();
    for (const l of this.lanes) await this.close(l);
    if (this.failed) throw this.failed;
  }

  /** Releases the connections (a failed run's are discarded, not returned to the pool). */
  release(err?: unknown): Promise<void> {
    const broken = Boolean(err || this.failed);
    if (broken) for (const l of this.lanes) l.feed?.destroy((err ?? this.failed) as Error);
    const pending = this.lanes.map((l) => l.done).filter(Boolean) as Promise<void>[];
    return Promise.allSettled(pending).then(() => {
      for (const l of this.lanes) l.client.release(broken ? true : undefined);
      this.lanes.length = 0;
    });
  }
}
