import fs from 'node:fs';
import path from 'node:path';
import { startHttpServer, TestServer } from './http-server';

/** The genuine API answers kept as fixtures (test/fixtures/datagouv/real/PROVENANCE.md). */
const REAL = path.join(__dirname, '..', 'fixtures', 'datagouv', 'real');
export const realAnswer = (name: string): string => fs.readFileSync(path.join(REAL, name), 'utf8');

/** What the fake server answers at a path: a JSON body (200), or a status with an optional Location. */
type Route = { json: string } | { body: Buffer | string; headers?: Record<string, string> } | { status: number; location?: string };

export interface FakeDatagouv extends TestServer {
  /** Routes by path (query string excluded, except when a key with `?` matches exactly); changeable between requests. */
  routes: Map<string, Route>;
  /** A genuine answer with its www.data.gouv.fr / demo.data.gouv.fr / static URLs pointed at this server. */
  local(answer: string): string;
}

/**
 * A local server answering like data.gouv.fr: `/api/1/datasets/{ref}/` with dataset JSON, the
 * files the resources point at (with ETag and 304 on If-None-Match), 404 for anything else.
 * `routes` is filled by each test.
 */
export async function startFakeDatagouv(): Promise<FakeDatagouv> {
  const routes = new Map<string, Route>();
  const server = await startHttpServer((req, res) => {
    const url = req.url ?? '/';
    const route = routes.get(url) ?? routes.get(url.split('?')[0]);
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Not Found', status: 404 }));
      return;
    }
    if ('status' in route) {
      res.writeHead(route.status, route.location ? { location: route.location } : {});
      res.end();
      return;
    }
    if ('json' in route) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(route.json);
      return;
    }
    const body = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
    const etag = `"${body.length}-${body.subarray(0, 16).toString('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { etag, 'content-length': body.length, ...route.headers });
      res.end();
      return;
    }
    res.writeHead(200, { etag, 'content-length': body.length, ...route.headers });
    res.end(body);
  });
  return {
    ...server,
    routes,
    local: (answer) =>
      answer
        .replaceAll('https://www.data.gouv.fr', server.url)
        .replaceAll('https://demo.data.gouv.fr', server.url)
        .replaceAll('https://static.data.gouv.fr', server.url),
  };
}
