import type { PoolClient } from 'pg';

/**
 * Slices of a source kept as one snapshot (the latest edition replaces the whole table): the
 * version of each commune's slice is a digest of the rows its pack takes from the source
 * (table `source_slices`, migration 305). Written in the publishing transaction; read by the
 * pack section's `sliceVersion` (see `sliceVersionSql`), so a new monthly edition rebuilds only
 * the communes whose rows changed.
 */

/**
 * Replaces the slice versions of `source`: `rows` is SQL returning `(code, version)` (a digest of
 * the commune's rows, e.g. `md5(string_agg(… order by …))`), one row per commune that has rows.
 */
export async function writeSlices(tx: PoolClient, source: string, rows: string, params: unknown[] = []): Promise<number> {
  await tx.query(`delete from source_slices where source = $1`, [source]);
  const n = params.length;
  const { rowCount } = await tx.query(
    `insert into source_slices (source, code, version) select $${n + 1}::text, s.code, s.version from (${rows}) s`,
    [...params, source],
  );
  return rowCount ?? 0;
}

/** The sliceVersion query of a snapshot source: one row per code of `$1`, '' for a commune without rows. */
export function sliceVersionSql(source: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(source)) throw new Error(`invalid source id '${source}'`);
  return `select c as code, coalesce(v.version, '') as version
            from unnest($1::text[]) c left join source_slices v on v.source = '${source}' and v.code = c`;
}
