import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Pipeline } from '../src/engine/pipeline';

/**
 * The source registry: one entry per folder of `pipelines/`, each declaring its source
 * in `pipelines/<id>/index.ts`. Declarations are validated here so a typo in a URL,
 * a licence or a cron expression stops the process at start.
 */
/**
 * How a resource's edition (millésime) is read: stated by the declaration (`value`: the file is
 * one edition, a scrutin or a census), or read with `pattern` (a regular expression; its first
 * group, else the whole match) from the resource's title, its URL, its file name, or a date of
 * the data.gouv.fr resource metadata. Never from a local file's date.
 */
const EditionRuleSchema = z.union([
  z.object({ value: z.string().min(1) }).strict(),
  z
    .object({
      from: z.enum(['title', 'url', 'name', 'last_modified', 'created_at']),
      pattern: z.string().refine(isRegExp, 'must be a regular expression').optional(),
      /** Rewrites the match, `$1` for its first group: `BPE(\\d{2})` with `20$1` reads BPE25 as 2025. */
      template: z.string().optional(),
    })
    .strict(),
]);
export type EditionRule = z.infer<typeof EditionRuleSchema>;

/**
 * Where a resource lives on data.gouv.fr: the dataset (id or slug), then which of its resources
 * (every given condition holds: `resource` id, `title`/`url` regular expressions, case-insensitive,
 * `format`, `type`). When several match, the latest edition is taken.
 */
const DatagouvRefSchema = z
  .object({
    dataset: z.string().min(1),
    resource: z
      .string()
      .regex(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i, 'must be a resource id (uuid)')
      .optional(),
    title: z.string().refine(isRegExp, 'must be a regular expression').optional(),
    url: z.string().refine(isRegExp, 'must be a regular expression').optional(),
    format: z.string().optional(),
    type: z.string().optional(),
  })
  .strict()
  .refine((r) => r.resource || r.title || r.url || r.format, 'name a resource: resource id, title, url or format');
export type DatagouvRef = z.infer<typeof DatagouvRefSchema>;

const ResourceSchema = z
  .object({
    name: z.string(),
    /** Direct URL (INSEE Melodi, adresse.data.gouv.fr…); for a data.gouv.fr resource, the fallback when its API cannot be reached. */
    url: z.string().url().optional(),
    /** The dataset and resource on data.gouv.fr: the URL is found at run time, a new edition without a code change. */
    datagouv: DatagouvRefSchema.optional(),
    /** How the edition is read (see EditionRule). */
    edition: EditionRuleSchema.optional(),
    /** The page the dataset or URL came from (the producer's or data.gouv.fr page), cited by `dotation sources`. */
    page: z.string().url(),
    /** What was checked, and where, when the URL or slug was declared. */
    evidence: z.string().optional(),
    /** Names the file may have in MIRROR_DIR (the upstream archive first, then its entries). */
    mirrorNames: z.array(z.string()).min(1),
    optional: z.boolean().optional(),
    /** Looked up in MIRROR_DIR only, never downloaded (per-département copies of a national file). */
    mirrorOnly: z.boolean().optional(),
    /**
     * Declared and checked upstream (`dotation sources check`), but not loaded yet: says why
     * (its reader is not written). The harvester neither downloads nor loads it.
     */
    pending: z.string().min(10).optional(),
    /** With `--file`, other resources this one cannot be loaded without (default: it loads alone). */
    needs: z.array(z.string()).optional(),
  })
  .strict()
  .refine((r) => r.url || r.datagouv || r.mirrorOnly, 'a resource needs a url, a datagouv reference, or mirrorOnly');

/**
 * What one publication of a source is expected to cover, checked by the publication guard
 * (src/engine/guard.ts) inside the publishing transaction.
 */
const CoverageSchema = z
  .object({
    /**
     * `national`: each publication holds all of France, compared with the published edition;
     * `departement`: a file holds whole départements and replaces only those, each compared with
     * what was published for it; `partial`: a file may hold any communes and replaces only those.
     */
    kind: z.enum(['national', 'departement', 'partial']),
    /** Published table measured (its rows, its distinct communes). */
    table: z.string().regex(/^[a-z_][a-z0-9_]*$/),
    /** Its commune column (default `code_commune`). */
    commune: z.string().optional(),
    /** Its département column (default: computed from the commune code). */
    departement: z.string().optional(),
    /** SQL expression giving a row's edition label, when the table holds several editions. */
    edition: z.string().optional(),
    /** `latest` (default): compared with the latest published edition; `same`: only with the same edition republished. */
    reference: z.enum(['latest', 'same']).optional(),
    /** Largest share of communes or rows a publication may lose (default 0.05). */
    maxShrink: z.number().min(0).max(1).optional(),
    /** Which publications this applies to: a RegExp on the edition label (default: all). */
    editions: z
      .string()
      .refine((s) => isRegExp(s), 'must be a regular expression')
      .optional(),
  })
  .strict();
export type Coverage = z.infer<typeof CoverageSchema>;

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
  resources: z.array(ResourceSchema),
  /** What one publication is expected to cover: the publication guard refuses one that shrinks (src/engine/guard.ts). */
  coverage: z.union([CoverageSchema, z.array(CoverageSchema).min(1)]).optional(),
});
export type SourceDeclaration = z.infer<typeof SourceSchema>;
export type ResourceDeclaration = SourceDeclaration['resources'][number];

function isRegExp(s: string): boolean {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}

const pipelinesDir = path.resolve(__dirname, '..', 'pipelines');

let registry: Map<string, Pipeline> | undefined;

/** The registry of this checkout's `pipelines/` folder, loaded once. */
export function sourceRegistry(): Map<string, Pipeline> {
  registry ??= loadRegistry();
  return registry;
}

/**
 * Loads and validates every `<root>/<id>/index.ts` (default root: this checkout's `pipelines/`).
 * Tests pass another root to check a registry of their own (test/conformance.test.ts).
 */
export function loadRegistry(root = pipelinesDir): Map<string, Pipeline> {
  const found = new Map<string, Pipeline>();
  const dirs = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const dir of dirs) {
    const p = loadPipeline(dir, root);
    if (p) found.set(dir, p);
  }
  return found;
}

/** Loads and validates `<root>/<dir>/index.ts`; undefined when the folder has none. */
function loadPipeline(dir: string, root = pipelinesDir): Pipeline | undefined {
  const file = path.join(root, dir, 'index.ts');
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
