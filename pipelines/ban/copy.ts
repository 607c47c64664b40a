import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Resolves when the first of the streams emits 'drain' (listeners removed afterwards). */
function anyDrain(feeds: PassThrough[]): Promise<void> {
  return new Promise((resolve) => {
    const off = () => {
      for (const f of feeds) f.off('drain', on);
    };
    const on = () => {
      off();
      resolve();
    };
    for (const f of feeds) f.on('drain', on);
  });
}

interface Lane {
  client: PoolClient;
  dep: string | null;
  feed: PassThrough | null;
  done: Promise<void>;
}

/**
 * COPY lanes routed by département: `lanes` connections, each running one COPY at a time into
 * the table of one département (`sqlFor(dep)`). A buffer goes to a lane already copying its
 * département that is not asking to drain, else to a lane copying another département, which is
 * switched (its COPY ended; the new one starts on the same connection as soon as the backend
 * finishes the old one, the feed buffering meanwhile: Node never waits for a switch), else it
 * waits for a drain. With the BAN sorted by commune, both lanes copy the current département, so
 * the two backends parse in parallel while Node only ever holds a few buffers per lane.
 */
export class DepartementLanes {
  private readonly lanes: Lane[] = [];
  private readonly copies: { rowCount: number }[] = [];
  private failed: unknown = null;
  private failure: Promise<never>;
  private fail!: (e: unknown) => void;

  /**
   * `onIdle(dep)` is called when a COPY of `dep` has ended and no lane points at it any more (in
   * a sorted file: the département is complete, its index can be built while others load).
   */
  constructor(
    private readonly db: Pool,
    private readonly count: number,
    private readonly sqlFor: (dep: string) => string,
    private readonly onIdle?: (dep: string) => void,
  ) {
    this.failure = new Promise<never>((_r, reject) => {
      this.fail = reject;
    });
    this.failure.catch(() => undefined);
  }

  /** Rows the backends reported copied (after `end`). */
  get copied(): number {
    return this.copies.reduce((s, c) => s + (c.rowCount ?? 0), 0);
  }

  /** Points the lane at `dep`: ends its current COPY and chains a new one after it on the same connection. */
  private open(l: Lane, dep: string): void {
    if (l.feed && !l.feed.writableEnded) l.feed.end();
    const feed = new PassThrough({ highWaterMark: 1 << 20 });
    l.dep = dep;
    l.feed = feed;
    l.done = l.done.then(() => {
      if (this.failed) throw this.failed;
      const copy = l.client.query(copyFrom(this.sqlFor(dep)));
      this.copies.push(copy);
      return pipeline(feed, copy).then(() => {
        if (!this.failed && this.onIdle && !this.lanes.some((x) => x.dep === dep)) this.onIdle(dep);
      });
    });
    l.done.catch((e) => {
      if (!this.failed) {
        this.failed = e;
        this.fail(e);
      }
    });
  }

  async write(dep: string, buf: Buffer): Promise<void> {
    for (;;) {
      if (this.failed) throw this.failed;
      let target: Lane | undefined = this.lanes.find((l) => l.dep === dep && !l.feed!.writableNeedDrain);
      if (!target && this.lanes.length < this.count) {
        target = { client: await this.db.connect(), dep: null, feed: null, done: Promise.resolve() };
        this.lanes.push(target);
      }
      if (!target) target = this.lanes.find((l) => l.dep !== dep);
      if (target) {
        if (target.dep !== dep) this.open(target, dep);
        target.feed!.write(buf);
        return;
      }
      await Promise.race([anyDrain(this.lanes.map((l) => l.feed!)), this.failure]);
    }
  }

  /** Ends every COPY (waits for the backends). */
  async end(): Promise<void> {
    for (const l of this.lanes) {
      if (l.feed && !l.feed.writableEnded) l.feed.end();
      l.dep = null;
    }
    await Promise.race([Promise.all(this.lanes.map((l) => l.done)), this.failure]);
    if (this.failed) throw this.failed;
  }

  /** Releases the connections (a failed run's are discarded, not returned to the pool). */
  async release(err?: unknown): Promise<void> {
    const broken = Boolean(err || this.failed);
    if (broken) for (const l of this.lanes) l.feed?.destroy((err ?? this.failed ?? new Error('aborted')) as Error);
    await Promise.allSettled(this.lanes.map((l) => l.done));
    for (const l of this.lanes) l.client.release(broken ? true : undefined);
    this.lanes.length = 0;
  }
}
