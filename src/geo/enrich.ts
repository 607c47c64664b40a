import type { Pool, PoolClient } from 'pg';
import { ident, transaction } from '../db/pool';

export interface EnrichResult { departement: string; updated: number; ms: number }

/**
 * Digest of the polygons an address of the département can fall in: its IRIS and the QPV
 * bridged to one of its communes. The enrichment of a département is re-run only when this
 * digest or its addresses (reloaded partition: digest reset to null) changed.
 */
const DIGEST_SQL = `select md5(
    coalesce((select string_agg(code_iris || ':' || md5(ST_AsBinary(geom)), ',' order by code_iris) from iris where departement = $1), '') || '|' ||
    coalesce((select string_agg(q.code_qp || ':' || md5(ST_AsBinary(q.geom)), ',' order by q.code_qp) from qpv q
               where exists (select 1 from qpv_communes b where b.code_qp = q.code_qp and b.departement = $1)), '')) as digest`;

/** Départements whose addresses or polygons changed since their last enrichment. */
export async function departementsToEnrich(db: Pool, only?: string[]): Promise<string[]> {
  const { rows } = await db.query(`select departement, enrich_digest from adresses_departements ${only ? 'where departement = any($1::text[])' : ''} order by 1`, only ? [only] : []);
  const out: string[] = [];
  for (const r of rows) {
    const { rows: [d] } = await db.query(DIGEST_SQL, [r.departement]);
    if (d.digest !== r.enrich_digest) out.push(r.departement);
  }
  return out;
}

async function enrichOne(client: PoolClient, dep: string): Promise<number> {
  const part = ident(`adresses_d_${dep.toLowerCase()}`);
  // Small per-département statements: JIT compilation would cost more than it saves.
  await client.query(`set local jit = off`);
  const { rows: [d] } = await client.query(DIGEST_SQL, [dep]);
  // Lookup tables: polygons cut into small pieces (ST_Subdivide) so each point-in-polygon test is cheap.
  await client.query(`create temp table enrich_iris on commit drop as
    select code_iris, ST_Subdivide(geom, 128) as g from iris where departement = $1`, [dep]);
  await client.query(`create temp table enrich_qpv on commit drop as
    select q.code_qp, ST_Subdivide(q.geom, 128) as g from qpv q
     where exists (select 1 from qpv_communes b where b.code_qp = q.code_qp and b.departement = $1)`, [dep]);
  await client.query(`create index on enrich_iris using gist (g)`);
  await client.query(`create index on enrich_qpv using gist (g)`);
  await client.query(`analyze enrich_iris`);
  await client.query(`analyze enrich_qpv`);
  const { rows: [has] } = await client.query(`select exists (select 1 from enrich_iris) or exists (select 1 from enrich_qpv) as any`);
  if (!has.any) {
    // No polygon for this département: only clear codes left by polygons since removed.
    const { rowCount } = await client.query(`update ${part} set code_iris = null, code_qp = null where code_iris is not null or code_qp is not null`);
    await client.query(`update adresses_departements set enrich_digest = $2, enriched_at = now() where departement = $1`, [dep, d.digest]);
    return rowCount ?? 0;
  }
  // Set-based: one pass over the partition, rows rewritten only when a code changes.
  const { rowCount } = await client.query(
    `with n as materialized (
       select a2.ctid as t, a2.code_iris as old_iris, a2.code_qp as old_qp,
              (select i.code_iris from enrich_iris i where ST_Intersects(i.g, a2.geom) order by i.code_iris limit 1) as code_iris,
              (select q.code_qp from enrich_qpv q where ST_Intersects(q.g, a2.geom) order by q.code_qp limit 1) as code_qp
         from ${part} a2)
     update ${part} a set code_iris = n.code_iris, code_qp = n.code_qp
       from n
      where a.ctid = n.t and (n.old_iris is distinct from n.code_iris or n.old_qp is distinct from n.code_qp)`,
  );
  await client.query(`update adresses_departements set enrich_digest = $2, enriched_at = now() where departement = $1`, [dep, d.digest]);
  return rowCount ?? 0;
}

/**
 * Gives every address of the départements its code_iris and, inside one, its code_qp, by
 * set-based point-in-polygon SQL (GiST on subdivided polygons). Each département runs in its
 * own transaction; those whose addresses and polygons are unchanged are skipped unless `force`.
 */
export async function enrichDepartements(db: Pool, deps?: string[], opts: { force?: boolean } = {}): Promise<EnrichResult[]> {
  const { rows: [poly] } = await db.query(`select exists (select 1 from iris) or exists (select 1 from qpv) as any`);
  if (!poly.any) {
    // No polygon loaded at all: nothing to look up; only clear codes left by polygons since removed.
    const { rows } = await db.query(
      `update adresses_departements a set enrich_digest = md5('|'), enriched_at = now()
         from adresses_departements o
        where o.departement = a.departement and a.enrich_digest is distinct from md5('|') ${deps ? 'and a.departement = any($1::text[])' : ''}
       returning a.departement, o.enrich_digest as old`, deps ? [deps] : []);
    const out: EnrichResult[] = [];
    for (const r of rows) {
      if (r.old === null) continue; // freshly loaded partition: its codes are null already
      const t0 = Date.now();
      const { rowCount } = await db.query(`update ${ident(`adresses_d_${String(r.departement).toLowerCase()}`)} set code_iris = null, code_qp = null where code_iris is not null or code_qp is not null`);
      out.push({ departement: r.departement, updated: rowCount ?? 0, ms: Date.now() - t0 });
    }
    return out;
  }
  const todo = opts.force && deps ? deps : await departementsToEnrich(db, deps);
  const out: EnrichResult[] = [];
  for (const dep of todo) {
    const t0 = Date.now();
    const client = await db.connect();
    try {
      const updated = await transaction(client, () => enrichOne(client, dep));
      out.push({ departement: dep, updated, ms: Date.now() - t0 });
    } finally {
      client.release();
    }
  }
  return out;
}

/** Départements touched by a set of polygons (IRIS or QPV codes' communes), for re-enrichment after a polygon load. */
export async function enrichAfterPolygons(db: Pool, log: (m: string) => void): Promise<EnrichResult[]> {
  const done = await enrichDepartements(db);
  if (done.length) log(`enrichment (IRIS, QPV) re-run for ${done.length} département(s): ${done.map((e) => `${e.departement} (${e.updated} rows, ${e.ms} ms)`).join(', ')}`);
  return done;
}
