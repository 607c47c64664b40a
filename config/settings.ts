import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { z } from 'zod';

/**
 * Every knob of the process, read once from the environment and validated. A bad value stops
 * the process at start with a message naming the key. Each key below has a doc comment and a
 * default; the README's settings table lists exactly these keys (test/settings.test.ts checks it).
 * Nothing else in the code reads `process.env` for a knob.
 */
const repoRoot = path.resolve(__dirname, '..');
const sharedData = path.resolve(repoRoot, '..', 'shared', 'data');

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** A size in bytes: `1048576`, `512K`, `64M`, `32G` (binary units). */
const byteSize = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*$/i.exec(String(v));
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'must be a size in bytes, optionally with K, M or G' });
    return z.NEVER;
  }
  const unit = { '': 1, K: 1024, M: MiB, G: GiB }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.floor(Number(m[1]) * unit);
});

/** A count given in the environment: an integer in [min, max]. */
const count = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);

/** @public the shape of the settings (the README test reads its keys). */
export const SettingsObject = z.object({
  /** PostgreSQL + PostGIS database; created when missing. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/dotation'),
  /** Redis of the BullMQ queue (runs, pack builds). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  /** Where downloaded upstream files are kept. */
  DATA_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, 'var', 'data')),
  /** Built packs: `<code>/<version>.zip` and `<code>/latest.json`. */
  PACKS_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, 'var', 'packs')),
  /** Local copy of upstream files under their upstream names; defaults to ../shared/data when it exists. */
  MIRROR_DIR: z
    .string()
    .optional()
    .default(fs.existsSync(sharedData) ? sharedData : ''),
  /**
   * Base of the URLs written in packs and API answers. Unset: the address the server listens on,
   * `http://HOST:PORT` (127.0.0.1 when HOST is a wildcard such as 0.0.0.0 or ::).
   */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /**
   * Who publishes this service: the organisation running this server, as data.gouv.fr will show it
   * (e.g. `Région Bretagne`). Named on the site's legal pages (mentions légales, accessibilité) and as
   * the DCAT catalogs' `dct:publisher`. Unset: the legal pages say "l’opérateur de ce service", and the
   * catalogs answer 503 rather than name a publisher that does not exist.
   */
  PUBLISHER_NAME: z.string().trim().min(2).max(200).optional(),
  /** How to reach the publisher (e-mail address or URL), shown on the legal pages; unset = said so there. */
  PUBLISHER_CONTACT: z.string().min(3).optional(),
  /** The publisher's own web address (its site or its data.gouv.fr organisation page), its IRI in the catalogs; unset: `PUBLIC_BASE_URL/id/editeur`. */
  PUBLISHER_URL: z.string().url().optional(),
  /** Bearer token of the operator API (≥ 16 characters); unset = operator API off (503). */
  OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * How long a sign-in to the operator console (/operator) lasts, in hours, counted from the sign-in.
   * The session is an encrypted cookie (HttpOnly, SameSite=Strict, Secure when PUBLIC_BASE_URL is https)
   * whose key derives from OPERATOR_TOKEN: changing the token signs every operator out.
   */
  OPERATOR_SESSION_HOURS: count(1, 720, 8),
  /**
   * Port of a second listener serving only the Prometheus metrics (`GET /metrics`) without a token,
   * for a scraper on a private network. Unset: metrics are served on PORT at `/metrics`, behind
   * `Authorization: Bearer <OPERATOR_TOKEN>` only.
   */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Address the METRICS_PORT listener binds (0.0.0.0 in a container scraped from another one). */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** TCP port of the HTTP server. */
  PORT: count(1, 65535, 3000),
  /** Address the HTTP server listens on (0.0.0.0 for every interface). */
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Whether the server is behind a reverse proxy whose X-Forwarded-For it trusts (Fastify
   * `trustProxy`): `true`, `false`, a hop count, or addresses/CIDRs separated by commas. It decides
   * the client address the rate limit counts.
   */
  TRUST_PROXY: z.string().default('false'),
  /** Requests per client address and RATE_LIMIT_WINDOW_S on the public routes (0: no limit). Answer 429 beyond. */
  RATE_LIMIT_MAX: count(0, 1_000_000_000, 3000),
  /** Window of RATE_LIMIT_MAX, in seconds. */
  RATE_LIMIT_WINDOW_S: count(1, 86_400, 60),
  /** Origins allowed by CORS on the public routes: `*`, or origins separated by commas. The operator routes never send CORS headers. */
  CORS_ORIGINS: z.string().min(1).default('*'),
  /**
   * Who may show the HTML pages in a frame (CSP `frame-ancestors`): sources separated by spaces,
   * e.g. `'self' https://www.mairie-exemple.fr`; `'none'` forbids every frame.
   */
  FRAME_ANCESTORS: z.string().min(1).default("'self'"),
  /** BullMQ key prefix: lets tests and several deployments share one Redis. */
  QUEUE_PREFIX: z.string().min(1).default('dotation'),
  /** Jobs a worker process runs at once. */
  WORKER_CONCURRENCY: count(1, 64, 2),
  /** Attempts of a failed run before it ends as failed. */
  RUN_ATTEMPTS: count(1, 20, 3),
  /** Root of the data.gouv.fr API, asked where a source's resources currently are (tests point it at a local server). */
  DATAGOUV_API: z.string().url().default('https://www.data.gouv.fr/api'),
  /** `never` forbids any download (tests, air-gapped machines). */
  NETWORK: z.enum(['auto', 'never']).default('auto'),
  /**
   * The publication guard compares a new publication with the ledger's record of the published
   * one (published_datasets.measure) instead of scanning the published table, when that table
   * holds at least this many rows (PostgreSQL's estimate): the BAN's 26 M rows took 29 s to scan.
   * Smaller tables are scanned, so a table edited by hand is still measured as it is.
   */
  GUARD_LEDGER_MIN_ROWS: count(0, 1_000_000_000, 1_000_000),
  /** How many pack versions stay downloadable per commune. */
  PACK_VERSIONS_KEPT: count(1, 50, 5),
  /**
   * Processes that build packs at once in a large build (`dotation packs build`, `npm start`; ≥ 1,000
   * communes to read): rendering, validating and zipping a pack is CPU work of Node's main thread, so
   * one process per core. Default: the machine's cores, at most 8. A queued fan-out
   * (`packs build --queue`) spreads départements over worker processes instead.
   */
  PACK_BUILD_PROCESSES: count(1, 64, Math.min(8, os.availableParallelism())),
  /** How many fan-out pack builds keep their ledger rows (pack_build_communes, pack_build_departements). */
  PACK_BUILDS_KEPT: count(1, 1000, 10),
  /** What the logger writes: `silent`, `error`, `warn`, `info`, `debug`. */
  LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
  /** How log lines are written on stderr: `json` (one object a line), `pretty`, or `auto` (pretty on a terminal, else JSON). */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /** BAN load: départements parsed and copied at once (one PostgreSQL connection each). */
  DOTATION_BAN_WORKERS: count(1, 32, 2),
  /** IRIS/QPV enrichment of addresses: départements enriched at once (one connection each). */
  DOTATION_ENRICH_WORKERS: count(1, 32, 2),
  /**
   * BAN load: give each address its IRIS and QPV while loading (`true`, the default), or publish
   * the rows without codes and let the enrichment pass rewrite them (`false`; benchmarks compare both).
   */
  DOTATION_BAN_ENRICH_IN_LOAD: z.stringbool().default(true),
  /** Test hook: a run throws at the step named `<source>:<step>` (e.g. `ban:before-commit`). Unset in production. */
  DOTATION_FAIL_AT: z
    .string()
    .regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, 'must be <source>:<step>')
    .optional(),
  /**
   * Encrypts the data.gouv.fr API keys that communes register for publication (AES-256-GCM, at rest):
   * 32 bytes written as 64 hexadecimal characters (`openssl rand -hex 32`). Unset: publication to
   * data.gouv.fr is off (registering a key is refused). Changing it makes the stored keys unreadable:
   * register them again.
   */
  PUBLICATION_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters (openssl rand -hex 32)')
    .optional(),
  /** Largest decompressed size of one input file (gzip, zip entry, 7z archive): bytes, or with a K/M/G suffix. */
  MAX_DECOMPRESSED_BYTES: byteSize.default(32 * GiB),
  /** Largest decompressed / compressed ratio of an input file once 16 MB are out (a decompression bomb beyond). */
  MAX_DECOMPRESSION_RATIO: z.coerce.number().min(2).max(100_000).default(200),
  /** Longest physical line of a text (CSV) input file: bytes, or with a K/M/G suffix. */
  MAX_LINE_BYTES: byteSize.default(1 * MiB),
  /** Largest single feature of a geographic file (one GeoJSON feature, or a whole single-Feature document). */
  MAX_FEATURE_BYTES: byteSize.default(64 * MiB),
});

/** Settings whose value is never printed, even when it is invalid. */
const SECRET_SETTINGS = new Set(['OPERATOR_TOKEN', 'PUBLICATION_KEY']);

/** `http://HOST:PORT` as a client reaches it: a wildcard address is reached on the loopback. */
function listenUrl(host: string, port: number): string {
  const h = ['0.0.0.0', '::', '[::]', '*'].includes(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

const SettingsSchema = SettingsObject.transform((s) => ({ ...s, PUBLIC_BASE_URL: s.PUBLIC_BASE_URL ?? listenUrl(s.HOST, s.PORT) }));

export type Settings = z.infer<typeof SettingsSchema>;

export class SettingsError extends Error {}

export function parseSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const result = SettingsSchema.safeParse(env);
  if (!result.success) {
    const shown = (k: string) => (SECRET_SETTINGS.has(k) ? '(value hidden)' : `(got ${JSON.stringify(env[k])})`);
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} ${shown(String(i.path[0]))}`);
    throw new SettingsError(`invalid settings:\n${lines.join('\n')}`);
  }
  return result.data;
}

let cached: Settings | undefined;
/** Settings of this process (parsed on first use). */
export function settings(): Settings {
  cached ??= parseSettings();
  return cached;
}
/** Tests change the environment between files. */
export function resetSettings(): void {
  cached = undefined;
}
