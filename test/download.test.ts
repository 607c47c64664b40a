import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { download, DownloadError } from '../src/harvest/download';
import { startHttpServer, TestServer } from './helpers/http-server';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
// Pseudo-random bytes: a resume that puts a byte in the wrong place changes the hash.
const BODY = crypto.randomBytes(256 * 1024);

/**
 * Cuts the connection once the client has written `bytes` bytes to `part`: the cut then falls
 * mid-body at a known offset whatever the machine's load.
 */
function cutWhenPartHas(req: import('node:http').IncomingMessage, part: string, bytes: number): void {
  const t0 = Date.now();
  const poll = () => {
    const size = fs.existsSync(part) ? fs.statSync(part).size : 0;
    if (size >= bytes || Date.now() - t0 > 20_000) req.socket.destroy();
    else setTimeout(poll, 10);
  };
  poll();
}

let dir: string;
let server: TestServer | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-dl-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  test('200, then 304 on If-None-Match: not-modified with the same sha256', async () => {
    server = await startHttpServer((req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'content-length': BODY.length });
      res.end(BODY);
    });
    const dest = path.join(dir, 'file.csv');
    const first = await download(`${server.url}/file.csv`, dest, { baseDelayMs: 1 });
    expect(first).toMatchObject({ status: 'downloaded', path: dest, etag: '"v1"', bytes: BODY.length, sha256: sha(BODY) });
    expect(server.requests[0].headers['if-none-match']).toBeUndefined();

    const second = await download(`${server.url}/file.csv`, dest, { etag: first.etag, baseDelayMs: 1 });
    expect(server.requests[1].headers['if-none-match']).toBe('"v1"');
    expect(second).toMatchObject({ status: 'not-modified', etag: '"v1"', sha256: first.sha256, bytes: BODY.length });
    expect(sha(fs.readFileSync(dest))).toBe(first.sha256);
  });

  test('If-Modified-Since is sent from the Last-Modified of the previous copy', async () => {
    const lastModified = 'Tue, 05 Jan 2027 03:00:00 GMT';
    server = await startHttpServer((req, res) => {
      if (req.headers['if-modified-since'] === lastModified) {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { 'last-modified': lastModified });
      res.end(BODY);
    });
    const dest = path.join(dir, 'lm.bin');
    const first = await download(`${server.url}/lm.bin`, dest, { baseDelayMs: 1 });
    expect(first).toMatchObject({ status: 'downloaded', etag: null, lastModified, sha256: sha(BODY) });
    const second = await download(`${server.url}/lm.bin`, dest, { lastModified: first.lastModified, baseDelayMs: 1 });
    expect(server.requests[1].headers['if-modified-since']).toBe(lastModified);
    expect(second).toMatchObject({ status: 'not-modified', lastModified, sha256: first.sha256 });
  });

  test('no conditional headers when the local copy is gone', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { etag: '"v2"' });
      res.end(BODY);
    });
    const dest = path.join(dir, 'gone.bin');
    const r = await download(`${server.url}/gone.bin`, dest, {
      etag: '"v1"',
      lastModified: 'Tue, 05 Jan 2027 03:00:00 GMT',
      baseDelayMs: 1,
    });
    expect(server.requests[0].headers['if-none-match']).toBeUndefined();
    expect(server.requests[0].headers['if-modified-since']).toBeUndefined();
    expect(r).toMatchObject({ status: 'downloaded', etag: '"v2"', sha256: sha(BODY) });
  });

  test('retries on 503, then succeeds', async () => {
    server = await startHttpServer((_req, res, n) => {
      if (n <= 2) {
        res.writeHead(503);
        res.end('busy');
        return;
      }
      res.writeHead(200);
      res.end(BODY);
    });
    const dest = path.join(dir, 'retry.bin');
    const r = await download(`${server.url}/retry.bin`, dest, { attempts: 5, baseDelayMs: 1 });
    expect(server.requests).toHaveLength(3);
    expect(r).toMatchObject({ status: 'downloaded', sha256: sha(BODY), bytes: BODY.length });
  });

  test('gives up after the last attempt on persistent 503', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    await expect(download(`${server.url}/down.bin`, path.join(dir, 'down.bin'), { attempts: 3, baseDelayMs: 1 })).rejects.toThrow(
      /HTTP 503/,
    );
    expect(server.requests).toHaveLength(3);
  });

  test('resumes a cut transfer with a Range request and gets a byte-identical file', async () => {
    const half = 100_000;
    server = await startHttpServer((req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { etag: '"big"', 'content-length': BODY.length });
        res.write(BODY.subarray(0, half));
        cutWhenPartHas(req, `${dest}.part`, half);
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      if (!m || req.headers['if-range'] !== '"big"') {
        res.writeHead(200, { etag: '"big"' });
        res.end(BODY);
        return;
      }
      const start = Number(m[1]);
      res.writeHead(206, {
        etag: '"big"',
        'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
        'content-length': BODY.length - start,
      });
      res.end(BODY.subarray(start));
    });
    const dest = path.join(dir, 'big.bin');
    const seen: number[] = [];
    const r = await download(`${server.url}/big.bin`, dest, { attempts: 3, baseDelayMs: 1, onBytes: (d) => seen.push(d) });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].headers.range).toBe(`bytes=${half}-`);
    expect(server.requests[1].headers['if-range']).toBe('"big"');
    expect(r).toMatchObject({ status: 'downloaded', bytes: BODY.length, sha256: sha(BODY) });
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(seen[seen.length - 1]).toBe(BODY.length);
    expect(fs.readdirSync(dir)).toEqual(['big.bin']); // no .part or .part.json left
  });

  test('a server ignoring the Range header (200) restarts the file from zero', async () => {
    server = await startHttpServer((req, res, n) => {
      res.writeHead(200, { 'content-length': BODY.length });
      if (n === 1) {
        res.write(BODY.subarray(0, 50_000));
        cutWhenPartHas(req, `${dest}.part`, 50_000);
        return;
      }
      res.end(BODY);
    });
    const dest = path.join(dir, 'norange.bin');
    const r = await download(`${server.url}/norange.bin`, dest, { attempts: 3, baseDelayMs: 1 });
    expect(server.requests[1].headers.range).toBe('bytes=50000-');
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(r.sha256).toBe(sha(BODY));
  });

  test('a 206 that does not start where the part ends is not appended', async () => {
    server = await startHttpServer((req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { etag: '"e"', 'content-length': BODY.length });
        res.write(BODY.subarray(0, 60_000));
        cutWhenPartHas(req, `${dest}.part`, 60_000);
        return;
      }
      if (req.headers.range) {
        // A broken server answering from byte 0 with 206.
        res.writeHead(206, { 'content-range': `bytes 0-${BODY.length - 1}/${BODY.length}`, 'content-length': BODY.length });
        res.end(BODY);
        return;
      }
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    });
    const dest = path.join(dir, 'badrange.bin');
    const r = await download(`${server.url}/badrange.bin`, dest, { attempts: 4, baseDelayMs: 1 });
    expect(server.requests.map((q) => q.headers.range ?? null)).toEqual([null, 'bytes=60000-', null]);
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(r.sha256).toBe(sha(BODY));
  });

  test('a 416 on a stale part starts over instead of failing forever', async () => {
    const dest = path.join(dir, 'stale.bin');
    // A leftover part longer than the file now is.
    fs.writeFileSync(`${dest}.part`, Buffer.alloc(BODY.length + 10));
    server = await startHttpServer((req, res) => {
      if (req.headers.range) {
        res.writeHead(416, { 'content-range': `bytes */${BODY.length}` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    });
    fs.writeFileSync(`${dest}.part.json`, JSON.stringify({ url: `${server.url}/stale.bin`, etag: null, lastModified: null }));
    const r = await download(`${server.url}/stale.bin`, dest, { attempts: 3, baseDelayMs: 1 });
    expect(server.requests.map((q) => q.headers.range ?? null)).toEqual([`bytes=${BODY.length + 10}-`, null]);
    expect(r.sha256).toBe(sha(BODY));
  });

  test('404 fails at once, without retries', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(404);
      res.end('not found');
    });
    const err = await download(`${server.url}/missing.csv`, path.join(dir, 'missing.csv'), { attempts: 5, baseDelayMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).message).toMatch(/HTTP 404/);
    expect((err as DownloadError).offline).toBe(false);
    expect(server.requests).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, 'missing.csv'))).toBe(false);
  });

  test('an unknown host fails fast with offline = true', async () => {
    const t0 = Date.now();
    const err = await download('http://nonexistent.invalid/file.csv', path.join(dir, 'offline.csv'), {
      attempts: 5,
      baseDelayMs: 30_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).offline).toBe(true);
    expect((err as DownloadError).message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    // One attempt: a retry would have slept baseDelayMs (30 s) first; a slow resolver may take a few seconds.
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  test('an aborted download is not retried', async () => {
    const ctl = new AbortController();
    // Never answers: the caller gives up once the request is in flight.
    server = await startHttpServer(() => ctl.abort());
    const t0 = Date.now();
    await expect(
      download(`${server.url}/slow.bin`, path.join(dir, 'slow.bin'), { attempts: 5, baseDelayMs: 5000, signal: ctl.signal }),
    ).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(server.requests).toHaveLength(1);
  });
});
