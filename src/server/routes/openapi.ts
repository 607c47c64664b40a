import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { docs as catalogDocs } from './catalog';
import { docs as geoDocs } from './geo';
import { docs as territoireDocs } from './territoire';
import type { RouteDoc } from '../http/query';
import { baseUrl } from '../../packs/datasets';

/**
 * /openapi.json: OpenAPI 3.1 built from the route docs written beside each route and from the
 * very zod schemas that validate their query strings (z.toJSONSchema). Routes of other modules
 * are listed from the router itself, so nothing public is left out.
 */
const ERROR_REF = { $ref: '#/components/schemas/Error' };
const jsonError = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_REF } } });

function queryParameters(schema: z.ZodObject | undefined): Record<string, unknown>[] {
  if (!schema) return [];
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(js.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: 'query', required: (js.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest };
  });
}

function operation(d: RouteDoc): Record<string, unknown> {
  const params = [
    ...Object.entries(d.params ?? {}).map(([name, description]) => ({
      name,
      in: 'path',
      required: true,
      description,
      schema: { type: 'string' },
    })),
    ...queryParameters(d.query),
  ];
  const produces = d.produces ?? ['application/json'];
  const responses: Record<string, unknown> = {
    200: { description: 'OK', content: Object.fromEntries(produces.map((p) => [p, {}])) },
    500: jsonError('internal error'),
  };
  for (const [code, description] of Object.entries(d.errors ?? {})) responses[code] = jsonError(description);
  return {
    summary: d.summary,
    tags: [d.tag],
    operationId: `${d.method}_${d.path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
    parameters: params,
    responses,
  };
}

/** Every GET route of the router, as OpenAPI paths (`/communes/:code` → `/communes/{code}`). */
function routerPaths(app: FastifyInstance): string[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const out: string[] = [];
  // printRoutes draws a tree: indentation gives depth, each line one segment (with its methods).
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[└├]── (.+?) \(([^)]*)\)\s*$/.exec(line) ?? /^([│ ]*)[└├]── (.+?)\s*$/.exec(line);
    if (!m) continue;
    const depth = m[1].length;
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const full = (stack.at(-1)?.path ?? '') + m[2];
    stack.push({ depth, path: full });
    if (m[3] && /\bGET\b/.test(m[3])) out.push(full.replace(/:([A-Za-z0-9_]+)/g, '{$1}'));
  }
  return out;
}

export function buildOpenApi(app: FastifyInstance): Record<string, unknown> {
  const documented = [...territoireDocs, ...geoDocs, ...catalogDocs];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const d of documented) paths[d.path] = { ...(paths[d.path] ?? {}), [d.method]: operation(d) };
  paths['/openapi.json'] = {
    get: {
      summary: 'This document',
      tags: ['meta'],
      operationId: 'get_openapi',
      parameters: [],
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
    },
  };
  // Routes of other modules (health, commune summary and packs, operator side): listed with their path parameters.
  for (const p of routerPaths(app)) {
    if (p.includes('*') || paths[p] || documented.some((d) => d.path === p)) continue;
    const params = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[p] = {
      get: {
        summary: `GET ${p}`,
        tags: ['other'],
        operationId: `get_${p.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
        parameters: params,
        responses: {
          200: { description: 'OK' },
          400: jsonError('bad request'),
          404: jsonError('not found'),
          500: jsonError('internal error'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Dotation de données communales',
      version: '1',
      description:
        'Per-commune open data packs, an API Territoire-compatible layer (/api/1), geo.api-style routes and DCAT catalogs. Every error is JSON {message}.',
    },
    servers: [{ url: baseUrl() }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas: { Error: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } } } },
  };
}

export default async function openapi(app: FastifyInstance): Promise<void> {
  let cached: Record<string, unknown> | undefined;
  app.get('/openapi.json', async (_req, reply) => {
    cached ??= buildOpenApi(app);
    return reply.type('application/json; charset=utf-8').send(cached);
  });
}
