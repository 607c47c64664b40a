import type { PoolClient } from 'pg';
import { ContentError } from './errors';
import { resolveEdition, type EditionInput } from './edition';

/** An edition older than the one a snapshot source has published: loading it would go back in time. */
export class OlderEditionError extends ContentError {
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
