import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { startHttpServer, TestServer } from './http-server';

/**
 * A local stand-in for the data.gouv.fr API v1 (udata), written from udata's own code
 * (opendatateam/udata, udata/core/dataset/api.py, api_fields.py, forms.py, udata/api/__init__.py):
 *   POST /api/1/datasets/                               201, the dataset (`id`, `slug`, `resources`…)
 *   PUT  /api/1/datasets/{id}/                          200, the dataset
 *   POST /api/1/datasets/{id}/upload/                   201, the new resource (multipart field `file`;
 *                                                       `checksum` {type: sha1, value}, `filesize`, `url`)
 *   POST /api/1/datasets/{id}/resources/{rid}/upload/   200, the resource with its new file
 *   PUT  /api/1/datasets/{id}/resources/{rid}/          200, the resource (`url` required: 400 without it)
 * X-API-KEY: a missing or unknown key answers 401 {"message": "Invalid API token"}, a revoked one
 * 401 {"message": "Revoked API token"}; unknown dataset or resource 404 {"message": …}.
 * `failNext` scripts the next answers (429 with Retry-After, 5xx) before the real one.
 * Answers are built on genuine recorded answers (test/fixtures/datagouv-api/real: every key of a
 * dataset and of a resource, `url` as static…/resources/{slug}/{YYYYMMDD-HHMMSS}/{file}, `latest`),
 * with the values of the dataset or resource at hand.
 */
const REAL = path.join(__dirname, '..', 'fixtures', 'datagouv-api', 'real');
const DATASET_TEMPLATE = JSON.parse(fs.readFileSync(path.join(REAL, 'api-1-datasets-catalogue-des-donnees-de-data-gouv-fr.json'), 'utf8'));
const RESOURCE_TEMPLATE = JSON.parse(fs.readFileSync(path.join(REAL, 'api-1-datasets-resources-322d1475.json'), 'utf8'));
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
interface Resource {
  id: string;
  title: string;
  description?: string;
  type: string;
  format: string;
  url: string;
  filetype: string;
  checksum: { type: string; value: string };
  filesize: number;
  mime: string;
  schema?: unknown;
  /** sha256 of the bytes received (the test's own check). */
  sha256: string;
  uploads: number;
}
interface Dataset {
  id: string;
  slug: string;
  organization: string;
  meta: Record<string, unknown>;
  resources: Resource[];
}

export interface FakeDataGouv {
  server: TestServer;
  apiUrl: string;
  datasets: Map<string, Dataset>;
  /** Every request: method, path, key header and JSON body (uploads: the file name and size). */
  log: { method: string; path: string; key: string | undefined; body?: unknown }[];
  revoke: (key: string) => void;
  failNext: (...answers: { status: number; retryAfter?: string }[]) => void;
  close: () => Promise<void>;
}

const hex = (n: number) => crypto.randomBytes(n).toString('hex');

export async function startFakeDataGouv(validKeys: string[]): Promise<FakeDataGouv> {
  const keys = new Set(validKeys);
  const revoked = new Set<string>();
  const datasets = new Map<string, Dataset>();
  const log: FakeDataGouv['log'] = [];
  const scripted: { status: number; retryAfter?: string }[] = [];
  let base = '';

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const publicResource = ({ sha256: _s, uploads: _u, ...r }: Resource) => ({
    ...RESOURCE_TEMPLATE,
    description: null,
    extras: {},
    schema: {},
    latest: `${base}/fr/datasets/r/${r.id}`,
    ...r,
  });
  const publicDataset = (d: Dataset) => ({
    ...DATASET_TEMPLATE,
    id: d.id,
    slug: d.slug,
    page: `${base}/fr/datasets/${d.slug}/`,
    uri: `${base}/api/1/datasets/${d.slug}/`,
    organization: { ...DATASET_TEMPLATE.organization, id: d.organization, slug: d.organization, name: d.organization },
    extras: {},
    spatial: null,
    temporal_coverage: null,
    ...d.meta,
    resources: d.resources.map(publicResource),
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    const path = (req.url ?? '/').split('?')[0];
    const key = req.headers['x-api-key'] as string | undefined;
    const type = req.headers['content-type'] ?? '';
    let body: unknown;
    let file: { name: string; data: Buffer; type: string } | undefined;
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const f = form.get('file') as File | null;
      if (f) file = { name: f.name, data: Buffer.from(await f.arrayBuffer()), type: f.type };
      body = file ? { file: file.name, bytes: file.data.length } : {};
    } else if (raw.length) body = JSON.parse(raw.toString('utf8'));
    log.push({ method: req.method ?? 'GET', path, key, body });
    const next = scripted.shift();
    if (next) {
      return send(
        res,
        next.status,
        { message: next.status === 429 ? 'Too Many Requests' : 'Service Unavailable' },
        next.retryAfter ? { 'retry-after': next.retryAfter } : {},
      );
    }
    if (!key || (!keys.has(key) && !revoked.has(key))) return send(res, 401, { message: 'Invalid API token' });
    if (revoked.has(key)) return send(res, 401, { message: 'Revoked API token' });
    const parts = path
      .replace(/^\/api\/1\//, '')
      .split('/')
      .filter(Boolean);
    if (parts[0] !== 'datasets') return send(res, 404, { message: 'Not found' });
    if (parts.length === 1 && req.method === 'POST') {
      const b = body as Record<string, unknown>;
      if (!b.title) return send(res, 400, { message: 'Validation error', errors: { title: ['This field is required.'] } });
      const { organization, ...meta } = b;
      const d: Dataset = {
        id: hex(12),
        slug: String(b.title)
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-'),
        organization: String(organization),
        meta,
        resources: [],
      };
      datasets.set(d.id, d);
      return send(res, 201, publicDataset(d));
    }
    const d = datasets.get(parts[1]);
    if (!d) return send(res, 404, { message: 'Not found' });
    if (parts.length === 2 && req.method === 'PUT') {
      Object.assign(d.meta, body as Record<string, unknown>);
      return send(res, 200, publicDataset(d));
    }
    const stored = (f: { name: string; data: Buffer; type: string }) => ({
      title: f.name,
      url: `${base}/resources/${d.slug}/${stamp()}/${f.name}`,
      filetype: 'file',
      checksum: { type: 'sha1', value: crypto.createHash('sha1').update(f.data).digest('hex') },
      filesize: f.data.length,
      mime: f.type,
      format: f.name.split('.').pop() ?? '',
      sha256: crypto.createHash('sha256').update(f.data).digest('hex'),
    });
    if (parts.length === 3 && parts[2] === 'upload' && req.method === 'POST') {
      if (!file) return send(res, 400, { success: false, error: 'Missing file parameter' });
      const r: Resource = { id: crypto.randomUUID(), type: 'main', uploads: 1, ...stored(file) };
      d.resources.push(r);
      return send(res, 201, { ...publicResource(r), success: true });
    }
    const r = d.resources.find((x) => x.id === parts[3]);
    if (parts[2] !== 'resources' || !r) return send(res, 404, { message: 'Resource does not exist' });
    if (parts.length === 5 && parts[4] === 'upload' && req.method === 'POST') {
      if (!file) return send(res, 400, { success: false, error: 'Missing file parameter' });
      Object.assign(r, stored(file), { uploads: r.uploads + 1 });
      return send(res, 200, { ...publicResource(r), success: true });
    }
    if (parts.length === 4 && req.method === 'PUT') {
      const b = body as Record<string, unknown>;
      if (!b.url) return send(res, 400, { message: 'Validation error', errors: { url: ['This field is required.'] } });
      if (b.filetype && b.filetype !== r.filetype) return send(res, 400, { message: 'Cannot modify filetype after creation' });
      // Server-computed fields of a hosted file are not taken from the client.
      const { url: _u, checksum: _c, filesize: _f, ...rest } = b;
      Object.assign(r, rest);
      return send(res, 200, publicResource(r));
    }
    return send(res, 405, { message: 'Method not allowed' });
  }

  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err) => send(res, 500, { message: String(err) }));
    });
  });
  base = server.url;
  return {
    server,
    apiUrl: `${server.url}/api/1`,
    datasets,
    log,
    revoke: (k) => {
      keys.delete(k);
      revoked.add(k);
    },
    failNext: (...answers) => scripted.push(...answers),
    close: () => server.close(),
  };
}
