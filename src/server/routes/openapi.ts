import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { docs as catalogDocs } from './catalog';
import { docs as geoDocs } from './geo';
import { docs as territoireDocs } from './territoire';
import { docs as packDocs } from './communes';
import { docs as siteDocs } from './web';
import { docs as changesDocs } from './changes';
import type { RouteDoc } from '../http/query';
import { baseUrl } from '../../packs/datasets';

/**
 * /openapi.json: OpenAPI 3.1 built from the route docs written beside each route and from the
 * very zod schemas that validate their query strings (z.toJSONSchema). Routes of other modules
 * are listed from the router itself, so nothing public is left out; the operator routes (bearer
 * token) and the static files are not published. Every public operation says `security: []`
 * (no authentication). Checked by Redocly's recommended rules (test/openapi.test.ts).
 */
/** Paths the document leaves out: the operator API is for the operator, not for the public. */
const HIDDEN = [/^\/operator(\/|$)/, /^\/static\//];
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
    ...Object.entries(d.headers ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    })),
  ];
  const produces = d.produces ?? ['application/json'];
  const responses: Record<string, unknown> = {
    200: { description: 'OK', content: Object.fromEntries(produces.map((p) => [p, {}])) },
    500: jsonError('internal error'),
  };
  for (const [code, description] of Object.entries(d.errors ?? {})) responses[code] = jsonError(description);
  if (d.responses) {
    delete responses[200];
    Object.assign(responses, d.responses);
  }
  return {
    summary: d.summary,
    tags: [d.tag],
    operationId: `${d.method}_${d.path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
    security: [],
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

const TAGS = [
  { name: 'territoire', description: 'API Territoire of data.gouv.fr (2016–2019), /api/1' },
  { name: 'geo', description: 'geo.api.gouv.fr-style lists of communes, départements, régions and EPCI' },
  { name: 'catalog', description: 'DCAT catalogs (JSON-LD, Turtle, RDF/XML)' },
  { name: 'packs', description: 'Per-commune data packs: ZIP (ETag, 304, Range), versions, single files' },
  {
    name: 'changes',
    description: 'What changed in the packs: feeds per commune and national (Atom 1.0, JSON Feed 1.1), and each pack’s changes.json',
  },
  { name: 'site', description: 'The public French site (HTML pages)' },
  { name: 'meta', description: 'This document and health' },
  { name: 'other', description: 'Routes listed from the router' },
];

/** JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) as src/packs/feeds.ts writes it. */
const JSON_FEED = {
  type: 'object',
  required: ['version', 'title', 'items'],
  properties: {
    version: { type: 'string', const: 'https://jsonfeed.org/version/1.1' },
    title: { type: 'string' },
    description: { type: 'string' },
    home_page_url: { type: 'string', format: 'uri' },
    feed_url: { type: 'string', format: 'uri' },
    next_url: { type: 'string', format: 'uri', description: 'the next (older) page; absent on the last page' },
    language: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'url', 'title', 'summary', 'date_published', '_dotation'],
        properties: {
          id: { type: 'string', description: 'the version’s ZIP URL' },
          url: { type: 'string', format: 'uri' },
          title: { type: 'string' },
          summary: { type: 'string', description: 'what changed, in French (changes.json `resume`)' },
          content_text: { type: 'string' },
          date_published: { type: 'string', format: 'date-time' },
          date_modified: { type: 'string', format: 'date-time' },
          tags: { type: 'array', items: { type: 'string' } },
          attachments: { type: 'array', items: { type: 'object' } },
          _dotation: {
            type: 'object',
            required: ['code', 'version', 'sha256'],
            properties: {
              code: { type: 'string' },
              version: { type: 'string' },
              sha256: { type: 'string' },
              build: { type: 'string', description: 'the build that made it (national feed)' },
            },
          },
        },
      },
    },
  },
};

const strings = { type: 'array', items: { type: 'string' } };
const KEY = { type: 'object', additionalProperties: { type: 'string' }, description: 'the row’s primary key, column by column' };
/** changes.json of a pack (src/packs/changes.ts, interface Changes). */
const CHANGES = {
  type: 'object',
  required: ['versionPrecedente', 'premiereVersion', 'resume', 'jeuxDeDonnees', 'fichiers', 'tables'],
  properties: {
    versionPrecedente: { type: ['string', 'null'], description: 'the version compared with; null for the first' },
    premiereVersion: { type: 'boolean' },
    resume: { type: 'string', description: 'the change in one French sentence (also the feeds’ summary)' },
    jeuxDeDonnees: {
      type: 'object',
      properties: {
        ajoutes: strings,
        retires: strings,
        millesimesChanges: {
          type: 'array',
          items: { type: 'object', properties: { source: { type: 'string' }, avant: { type: 'string' }, apres: { type: 'string' } } },
        },
      },
    },
    fichiers: {
      type: 'object',
      description: 'relative to the previous version’s file list',
      properties: { ajoutes: strings, retires: strings, modifies: strings },
    },
    tables: {
      type: 'array',
      items: {
        type: 'object',
        required: ['fichier', 'clePrimaire', 'lignesAjoutees', 'lignesRetirees', 'lignesModifiees', 'colonnesModifiees', 'exemples'],
        properties: {
          fichier: { type: 'string' },
          clePrimaire: { type: ['array', 'null'], items: { type: 'string' }, description: 'null: rows compared whole' },
          lignesAjoutees: { type: 'integer' },
          lignesRetirees: { type: 'integer' },
          lignesModifiees: { type: 'integer', description: 'rows whose key stayed and whose values changed' },
          colonnesModifiees: {
            type: 'object',
            additionalProperties: { type: 'integer' },
            description: 'per column, modified rows that changed it',
          },
          colonnes: { type: 'object', properties: { ajoutees: strings, retirees: strings } },
          exemples: {
            type: 'object',
            properties: {
              ajoutees: { type: 'array', items: KEY },
              retirees: { type: 'array', items: KEY },
              modifiees: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    cle: KEY,
                    colonnes: {
                      type: 'object',
                      additionalProperties: { type: 'object', properties: { avant: { type: 'string' }, apres: { type: 'string' } } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export function buildOpenApi(app: FastifyInstance): Record<string, unknown> {
  const documented = [...territoireDocs, ...geoDocs, ...catalogDocs, ...packDocs, ...changesDocs, ...siteDocs];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const d of documented) paths[d.path] = { ...(paths[d.path] ?? {}), [d.method]: operation(d) };
  paths['/openapi.json'] = {
    get: {
      summary: 'This document',
      tags: ['meta'],
      operationId: 'get_openapi',
      security: [],
      parameters: [],
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } }, 404: jsonError('never') },
    },
  };
  // Routes of other modules (health, commune summary and packs, operator side): listed with their path parameters.
  for (const p of routerPaths(app)) {
    if (p.includes('*') || HIDDEN.some((h) => h.test(p)) || paths[p] || documented.some((d) => d.path === p)) continue;
    const params = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[p] = {
      get: {
        summary: `GET ${p}`,
        tags: ['other'],
        operationId: `get_${p.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
        security: [],
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
        'Per-commune open data packs, an API Territoire-compatible layer (/api/1), geo.api-style routes and DCAT catalogs. Every error of the API is JSON {message}; the site pages answer HTML. No route of this document needs authentication. The data keep their producers’ licences, named in each pack (mostly Licence Ouverte 2.0).',
      license: { name: 'MIT (software)', url: 'https://opensource.org/license/mit' },
    },
    tags: TAGS,
    servers: [{ url: baseUrl() }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: {
        Error: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } },
        JsonFeed: JSON_FEED,
        Changes: CHANGES,
        PackVersions: {
          type: 'object',
          required: ['code', 'nom', 'latest', 'url', 'versions'],
          properties: {
            code: { type: 'string' },
            nom: { type: 'string' },
            latest: { type: 'string', description: 'latest version, e.g. 2026.1' },
            url: { type: 'string', format: 'uri', description: 'download URL of the latest pack' },
            versions: {
              type: 'array',
              items: {
                type: 'object',
                required: ['version', 'millesime', 'date', 'sha256', 'bytes', 'url', 'fichiers'],
                properties: {
                  version: { type: 'string' },
                  millesime: { type: 'string', description: 'COG millésime of the pack' },
                  date: { type: 'string', format: 'date-time' },
                  sha256: { type: 'string' },
                  bytes: { type: 'integer' },
                  url: { type: 'string', format: 'uri' },
                  fichiers: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['name', 'bytes', 'sha256'],
                      properties: {
                        name: { type: 'string' },
                        bytes: { type: 'integer' },
                        sha256: { type: 'string' },
                        url: { type: 'string', format: 'uri', description: 'latest version only' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}

export default async function openapi(app: FastifyInstance): Promise<void> {
  let cached: Record<string, unknown> | undefined;
  app.get('/openapi.json', async (_req, reply) => {
    cached ??= buildOpenApi(app);
    return reply.type('application/json; charset=utf-8').send(cached);
  });
}
