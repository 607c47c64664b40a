import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Pipeline } from '../src/engine/pipeline';

/**
 * The source registry: one entry per folder of `pipelines/`, each declaring its source
 * in `pipelines/<id>/index.ts`. Declarations are validated here so a typo in a URL,
 * a licence or a cron expression stops the process at start.
 */
const SourceSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/),
  title: z.string().min(3), // French title, shown to communes
  producer: z.string().min(2),
  licence: z.object({ id: z.string(), title: z.string(), url: z.string().url() }),
  landingPage: z.string().url(),
  format: z.string(),
  /** Cron expression (node-cron syntax, Europe/Paris). */
  schedule: z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression'),
  /** Millésime of the data when the file does not carry it. */
  millesime: z.string().optional(),
  resources: z.array(
    z.object({
      name: z.string(),
      url: z.string().url(),
      /** Names the file may have in MIRROR_DIR (the upstream archive first, then its entries). */
      mirrorNames: z.array(z.string()).min(1),
      optional: z.boolean().optional(),
      /** Looked up in MIRROR_DIR only, never downloaded (per-département copies of a national file). */
      mirrorOnly: z.boolean().optional(),
    }),
  ),
});
export type SourceDeclaration = z.infer<typeof SourceSchema>;

const pipelinesDir = path.resolve(__dirname, '..', 'pipelines');

let registry: Map<string, Pipeline> | undefined;

export function sourceRegistry(): Map<string, Pipeline> {
  if (registry) return registry;
  const found = new Map<string, Pipeline>();
  const dirs = fs
    .readdirSync(pipelinesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const dir of dirs) {
    const p = loadPipeline(dir);
    if (p) found.set(dir, p);
  }
  registry = found;
  return found;
}

/** Loads and validates `pipelines/<dir>/index.ts`; undefined when the folder has none. */
function loadPipeline(dir: string): Pipeline | undefined {
  const file = path.join(pipelinesDir, dir, 'index.ts');
  if (!fs.existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { pipeline?: Pipeline };
  if (!mod.pipeline) throw new Error(`pipelines/${dir}/index.ts must export 'pipeline'`);
  const parsed = SourceSchema.safeParse(mod.pipeline.source);
  if (!parsed.success) {
    throw new Error(
      `pipelines/${dir}: invalid source declaration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  if (parsed.data.id !== dir) throw new Error(`pipelines/${dir}: source id '${parsed.data.id}' must equal the folder name`);
  return mod.pipeline;
}

export function getPipeline(id: string): Pipeline {
  // Running one source loads only its own folder: a broken sibling pipeline must not stop it.
  if (!registry && /^[a-z0-9-]+$/.test(id)) {
    const own = loadPipeline(id);
    if (own) return own;
  }
  const p = sourceRegistry().get(id);
  if (!p) throw new Error(`unknown source '${id}'; known: ${[...sourceRegistry().keys()].join(', ')}`);
  return p;
}

/** Order in which `dotation start` loads sources: the referential first. */
export function pipelineOrder(): string[] {
  const ids = [...sourceRegistry().keys()];
  return ids.sort((a, b) => (sourceRegistry().get(a)!.order ?? 100) - (sourceRegistry().get(b)!.order ?? 100) || a.localeCompare(b));
}
