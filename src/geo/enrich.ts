import type { Pool, PoolClient } from 'pg';
import { settings } from '../../config/settings';
import { ident, transaction } from '../db/pool';

export interface EnrichResult {
  departement: string;
  updated: number;
  ms: number;
}

/** Départements enriched at once by `enrichDepartements` (one connection each; the machine has 2 cores). */
const workers = () => settings().DOTATION_ENRICH_WORKERS;

/**
 * Digest of the polygons an address of the département can fall in: its IRIS and the QPV
 * bridged to one of its communes. The enrichment of a département is re-run only when this
 * digest or its addresses (reloaded partition: digest reset to null) changed.
 */
const DIGEST_SQL = `select md5(
    coalesce((select string_agg(code_iris || ':' || md5(ST_AsBinary(geom)), ',' order by code_iris) from iris where departement = $1), '') || '|' ||
    coalesce((select string_agg(q.code_qp || ':' || md5(ST_AsBinary(q.geom)), ',' order by q.code_qp) from qpv q
               where exists (select 1 from qpv_communes b where b.code_qp = q.code_qp and b.departement = $1)), '')) as digest`;

/** Digest of the département's polygons (see DIGEST_SQL). */
async function enrichDigest(client: PoolClient | Pool, dep: string): Promise<string> {
  const {
    rows: [d],
  } = await client.query(DIGEST_SQL, [dep]);
  return d.digest as string;
}

/** Départements having at least one IRIS or QPV polygon (the others need no lookup). */
export async function departementsWithPolygons(db: Pool | PoolClient): Promise<Set<string>> {
  const { rows } = await db.query(`select departement from iris union select departement from qpv_communes`);
  return new Set(rows.map((r) => r.departement as string));
}

/** Départements whose addresses or polygons changed since their last enrichment. */
async function departementsToEnrich(db: Pool, only?: string[]): Promise<string[]> {
  const { rows } = await db.query(
    `select departement, enrich_digest from adresses_departements ${only ? 'where departement = any($1::text[])' : ''} order by 1`,
    only ? [only] : [],
  );
  const out: string[] = [];
  for (const r of rows) {
    if ((await enrichDigest(db, r.departement)) !== r.enrich_digest) out.push(r.departement);
  }
  return out;
}

/**
 * Lookup tables of a département, temporary (dropped at commit): its polygons cut into small
 * pieces (ST_Subdivide, IRIS and QPV together) and a grid index of the pieces. Each piece is
 * registered in the cells of its bounding box on a grid of its own level (cell side 2^-level
 * degrees, at most half the piece's larger side: a few cells a piece). A point finds its
 * candidate pieces by hashing its cell at each level present (hash joins: no index descent per
 * address), then the exact point-in-polygon test runs on those few candidates only. Built in a
 * few statements, only the tiny levels table analyzed (the plans need no more than the row
 * counts the planner reads from the table sizes): this runs once per département and load.
 * Returns false when the département has no polygon. Must run inside a transaction.
 */
async function buildLookup(client: PoolClient, dep: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `create temp table enrich_pieces on commit drop as
    select row_number() over ()::int as id, kind, code, g, x0, y0, x1, y1,
           greatest(0, least(16, ceil(ln(2 / greatest(x1 - x0, y1 - y0, 1e-9)) / ln(2))))::int as lvl
      from (select kind, code, g, ST_XMin(g) as x0, ST_YMin(g) as y0, ST_XMax(g) as x1, ST_YMax(g) as y1
              from (select 'i'::"char" as kind, code_iris as code, ST_Subdivide(geom, 128) as g from iris where departement = $1
                    union all
                    select 'q'::"char", q.code_qp, ST_Subdivide(q.geom, 128) from qpv q
                     where exists (select 1 from qpv_communes b where b.code_qp = q.code_qp and b.departement = $1)) s) x`,
    [dep],
  );
  if (!rowCount) return false;
  await client.query(`create temp table enrich_cells on commit drop as
    select (p.lvl::bigint << 58) | (cx::bigint << 29) | cy::bigint as key, p.id
      from enrich_pieces p
     cross join lateral (select 2::float8 ^ p.lvl as f) s
     cross join lateral generate_series(floor((p.x0 + 180) * f)::int, floor((p.x1 + 180) * f)::int) cx
     cross join lateral generate_series(floor((p.y0 + 90) * f)::int, floor((p.y1 + 90) * f)::int) cy`);
  await client.query(`create temp table enrich_levels on commit drop as select distinct lvl, 2::float8 ^ lvl as f from enrich_pieces`);
  await client.query(`analyze enrich_levels`); // a handful of rows: the plan must know it
  return true;
}

/**
 * Codes of the rows of `table` inside at least one piece (`t` = ctid): the smallest code_iris and
 * code_qp among the polygons the point intersects (ST_Intersects: a point on an edge belongs to
 * both sides; the smallest code wins, as before). A point's cell at a level is computed as the
 * piece's cells are (same float expression), so a piece whose bounding box holds the point is
 * always a candidate. Uses the lookup tables of `buildLookup`.
 */
const codesSql = (table: string) => `
  with cand as materialized ( -- candidates first: the point-in-polygon test must not be planned as a join filter
    select a.ctid as t, a.geom, c.id
      from ${table} a
     cross join enrich_levels l
      join enrich_cells c on c.key = (l.lvl::bigint << 58) | (floor((a.lon + 180) * l.f)::bigint << 29) | floor((a.lat + 90) * l.f)::bigint)
  select cand.t,
         min(p.code) filter (where p.kind = 'i') as code_iris,
         min(p.code) filter (where p.kind = 'q') as code_qp
    from cand join enrich_pieces p on p.id = cand.id
   where ST_Intersects(p.g, cand.geom)
   group by cand.t`;

/** Session settings of the set-based statements (per transaction). */
async function tune(client: PoolClient): Promise<void> {
  // One big aggregate per département: memory instead of spilling; JIT would cost more than it
  // saves. No wait for the WAL flush at commit (it costs more than the work on a small
  // département): a crash can only lose a whole transaction — rows not yet published (a load's
  // move: the run fails) or the codes with their digest (re-enriched by the next pass).
  await client.query(`set local jit = off; set local work_mem = '256MB'; set local synchronous_commit = off`);
}

/**
 * Moves the addresses of `from` (a département's freshly loaded raw table, not yet published)
 * into `to`, with their code_iris and code_qp: the load publishes enriched rows, each row
 * written once (no UPDATE of wide rows, no dead tuples). `columns` are the columns of `to`, in
 * order; `from` has them all. `from` is locked first (a COPY still running into it is waited
 * for; one starting later waits for the commit) and emptied at the end, so a later COPY into
 * it (unsorted file) is moved by a later call. Runs in one repeatable-read transaction, so the
 * digest returned is the one of the polygons used. Returns the digest and the rows moved.
 */
export async function copyEnriched(
  client: PoolClient,
  dep: string,
  from: string,
  to: string,
  columns: string[],
): Promise<{ digest: string; rows: number }> {
  await client.query('begin isolation level repeatable read');
  try {
    await client.query(`lock table ${ident(from)} in access exclusive mode`); // before the snapshot: the rows of a finished COPY are seen
    await tune(client);
    const digest = await enrichDigest(client, dep);
    const any = await buildLookup(client, dep);
    const cols = columns.map((c) => (c === 'code_iris' || c === 'code_qp' ? `c.${ident(c)}` : `a.${ident(c)}`)).join(', ');
    const { rowCount } = any
      ? await client.query(`insert into ${ident(to)} (${columns.map(ident).join(', ')})
          select ${cols} from ${ident(from)} a left join (${codesSql(ident(from))}) c on c.t = a.ctid`)
      : await client.query(
          `insert into ${ident(to)} (${columns.map(ident).join(', ')}) select ${columns.map((c) => `a.${ident(c)}`).join(', ')} from ${ident(from)} a`,
        );
    await client.query(`truncate ${ident(from)}`);
    await client.query('commit');
    return { digest, rows: rowCount ?? 0 };
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  }
}

async function enrichOne(client: PoolClient, dep: string): Promise<number> {
  const part = ident(`adresses_d_${dep.toLowerCase()}`);
  await tune(client);
  const digest = await enrichDigest(client, dep);
  if (!(await buildLookup(client, dep))) {
    // No polygon for this département: only clear codes left by polygons since removed.
    const { rowCount } = await client.query(
      `update ${part} set code_iris = null, code_qp = null where code_iris is not null or code_qp is not null`,
    );
    await client.query(`update adresses_departements set enrich_digest = $2, enriched_at = now() where departement = $1`, [dep, digest]);
    return rowCount ?? 0;
  }
  // Set-based: codes by hash joins on the grid, rows rewritten only when a code changes.
  const { rowCount } = await client.query(
    `with n as materialized (
       select a2.ctid as t, c.code_iris, c.code_qp
         from ${part} a2 left join (${codesSql(part)}) c on c.t = a2.ctid
        where a2.code_iris is distinct from c.code_iris or a2.code_qp is distinct from c.code_qp)
     update ${part} a set code_iris = n.code_iris, code_qp = n.code_qp from n where a.ctid = n.t`,
  );
  await client.query(`update adresses_departements set enrich_digest = $2, enriched_at = now() where departement = $1`, [dep, digest]);
  return rowCount ?? 0;
}

/**
 * Gives every address of the départements its code_iris and, inside one, its code_qp, by
 * set-based point-in-polygon SQL (grid of subdivided polygons). Each département runs in its
 * own transaction, DOTATION_ENRICH_WORKERS at a time; those whose addresses and polygons are unchanged are
 * skipped unless `force`. A BAN load enriches the rows it publishes itself (`copyEnriched`):
 * this pass then only finds départements whose polygons changed since.
 */
export async function enrichDepartements(db: Pool, deps?: string[], opts: { force?: boolean } = {}): Promise<EnrichResult[]> {
  const {
    rows: [poly],
  } = await db.query(`select exists (select 1 from iris) or exists (select 1 from qpv) as any`);
  if (!poly.any) {
    // No polygon loaded at all: nothing to look up; only clear codes left by polygons since removed.
    const { rows } = await db.query(
      `update adresses_departements a set enrich_digest = md5('|'), enriched_at = now()
         from adresses_departements o
        where o.departement = a.departement and a.enrich_digest is distinct from md5('|') ${deps ? 'and a.departement = any($1::text[])' : ''}
       returning a.departement, o.enrich_digest as old`,
      deps ? [deps] : [],
    );
    const out: EnrichResult[] = [];
    for (const r of rows) {
      if (r.old === null) continue; // freshly loaded partition: its codes are null already
      const t0 = Date.now();
      const { rowCount } = await db.query(
        `update ${ident(`adresses_d_${String(r.departement).toLowerCase()}`)} set code_iris = null, code_qp = null where code_iris is not null or code_qp is not null`,
      );
      out.push({ departement: r.departement, updated: rowCount ?? 0, ms: Date.now() - t0 });
    }
    return out;
  }
  const todo = opts.force && deps ? [...deps] : await departementsToEnrich(db, deps);
  const out: EnrichResult[] = [];
  await Promise.all(
    Array.from({ length: Math.min(workers(), todo.length) }, async () => {
      for (let dep = todo.shift(); dep !== undefined; dep = todo.shift()) {
        const t0 = Date.now();
        const client = await db.connect();
        try {
          const d = dep;
          const updated = await transaction(client, () => enrichOne(client, d));
          out.push({ departement: dep, updated, ms: Date.now() - t0 });
        } finally {
          client.release();
        }
      }
    }),
  );
  return out.sort((a, b) => (a.departement < b.departement ? -1 : a.departement > b.departement ? 1 : 0));
}

/** Départements touched by a set of polygons (IRIS or QPV codes' communes), for re-enrichment after a polygon load. */
export async function enrichAfterPolygons(db: Pool, log: (m: string) => void): Promise<EnrichResult[]> {
  const done = await enrichDepartements(db);
  if (done.length)
    log(
      `enrichment (IRIS, QPV) re-run for ${done.length} département(s): ${done.map((e) => `${e.departement} (${e.updated} rows, ${e.ms} ms)`).join(', ')}`,
    );
  return done;
}
