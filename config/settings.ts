import path from 'node:path';
import fs from 'node:fs';
import { z } from 'zod';

/**
 * Every knob of the process, read once from the environment and validated.
 * A bad value stops the process at start with a message naming the key.
 */
const repoRoot = path.resolve(__dirname, '..');
const sharedData = path.resolve(repoRoot, '..', 'shared', 'data');

const SettingsSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/dotation'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  DATA_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, 'var', 'data')),
  PACKS_DIR: z
    .string()
    .min(1)
    .default(path.join(repoRoot, 'var', 'packs')),
  /** Local copy of upstream files under their upstream names; defaults to ../shared/data when it exists. */
  MIRROR_DIR: z
    .string()
    .optional()
    .default(fs.existsSync(sharedData) ? sharedData : ''),
  PUBLIC_BASE_URL: z.string().url().default('http://127.0.0.1:3000'),
  OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** BullMQ key prefix: lets tests and several deployments share one Redis. */
  QUEUE_PREFIX: z.string().min(1).default('dotation'),
  /** Jobs a worker process runs at once. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Attempts of a failed run before it ends as failed. */
  RUN_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  /** `never` forbids any download (tests, air-gapped machines). */
  NETWORK: z.enum(['auto', 'never']).default('auto'),
  /** How many pack versions stay downloadable per commune. */
  PACK_VERSIONS_KEPT: z.coerce.number().int().min(1).max(50).default(5),
  /** How many fan-out pack builds keep their ledger rows (pack_build_communes, pack_build_departements). */
  PACK_BUILDS_KEPT: z.coerce.number().int().min(1).max(1000).default(10),
  LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
});

export type Settings = z.infer<typeof SettingsSchema>;

export class SettingsError extends Error {}

export function parseSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const result = SettingsSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`);
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
