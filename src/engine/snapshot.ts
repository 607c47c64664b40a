import type { PoolClient } from 'pg';
import { ContentError } from './errors';
import { compareEditions, parseEdition, resolveEdition, type EditionInput } from './edition';
import type { RunContext } from './pipeline';

/** An edition older than the one a snapshot source has published: loading it would go back in time. */
class OlderEditionError extends ContentError {
  override name = 'OlderEditionError';
}

/**
 * For a source kept as ONE snapshot (its latest edition replaces the previous rows: the RNA, the
 * DECP, the RNE): called inside the publishing transaction, before the rows are replaced. Refuses
 * an edition older than the published one (nothing is changed), and removes the other editions
 * from `published_datasets`, whose rows this publication replaces, so the catalog never lists an
 * edition whose data is gone.
 */
export async function replaceSnapshot(tx: PoolClient, source: string, edition: EditionInput): Promise<void> {
  const e = resolveEdition(edition);
  const { rows } = await tx.query(
    `select millesime, edition_key from published_datasets where source = $1 and millesime <> $2 order by edition_key desc limit 1`,
    [source, e.label],
  );
  if (rows.length && rows[0].edition_key > e.key)
    throw new OlderEditionError(
      `${source}: edition ${e.label} is older than the published edition ${rows[0].millesime}; nothing was changed (a snapshot source keeps its latest edition)`,
    );
  await tx.query(`delete from published_datasets where source = $1 and millesime <> $2`, [source, e.label]);
}

/** The edition of one file of a snapshot source, as recorded in its publication's details. */
export interface FileEdition {
  edition: string;
  /** Where it was read: the resource's URL or name, the operator (`--millesime`), the file's content… */
  from: string;
  fichier: string;
}

/**
 * Editions of a snapshot source whose files can be loaded apart (`--file`): each resource keeps
 * its own, the one of a file not loaded now staying as published. Refuses a file older than the
 * one it replaces (OlderEditionError); the source's millésime is the latest of the files now
 * published. `kept` is the previous publication's `details.editions`.
 */
export function mergeFileEditions(
  kept: Record<string, FileEdition>,
  loaded: Record<string, FileEdition>,
): { editions: Record<string, FileEdition>; millesime: string } {
  for (const [resource, e] of Object.entries(loaded)) {
    const before = kept[resource];
    if (before && compareEditions(parseEdition(e.edition), parseEdition(before.edition)) < 0)
      throw new OlderEditionError(
        `${e.fichier}: edition ${e.edition} is older than the one published (${before.edition}, ${before.fichier}); nothing was changed`,
      );
  }
  const editions = { ...kept, ...loaded };
  const millesime = Object.values(editions)
    .map((e) => e.edition)
    .sort((a, b) => compareEditions(parseEdition(a), parseEdition(b)))
    .pop()!;
  return { editions, millesime };
}

/**
 * The editions step of a snapshot source whose files load apart (education, santé, urbanisme):
 * its latest publication's details (`kept`), the editions of the files loaded now merged with the
 * ones it recorded (mergeFileEditions), each file loaded now logged with its edition, and the run's
 * millésime set to the latest of them.
 */
export async function mergePublishedEditions(
  ctx: RunContext,
  loaded: Record<string, FileEdition>,
): Promise<{ kept: Record<string, unknown>; editions: Record<string, FileEdition>; millesime: string }> {
  const previous = await ctx.db.query(`select details from published_datasets where source = $1 order by edition_key desc limit 1`, [
    ctx.source.id,
  ]);
  const kept: Record<string, unknown> = previous.rows[0]?.details ?? {};
  const { editions, millesime } = mergeFileEditions((kept.editions ?? {}) as Record<string, FileEdition>, loaded);
  for (const e of Object.values(loaded)) ctx.log(`${e.fichier}: edition ${e.edition} (${e.from})`);
  ctx.setMillesime(millesime);
  return { kept, editions, millesime };
}
