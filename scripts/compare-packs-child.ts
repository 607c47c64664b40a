/**
 * One side of scripts/compare-packs.ts, run inside a checkout (the current one, or a temporary
 * worktree of the reference revision, into which it is copied): applies the migrations to
 * DATABASE_URL, loads every source from MIRROR_DIR (inline, in `dotation start` order), pins
 * the publication clock, and builds the packs of the départements given as arguments into
 * PACKS_DIR. Prints one JSON line per source run and one for the pack build.
 *
 * It uses only what both revisions have: migrate, pipelineOrder, runSource, buildPacks.
 */
import { ensureDatabase, migrate } from '../src/db/migrate';
import { pipelineOrder } from '../config/sources';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { closePools, pool } from '../src/db/pool';

/**
 * The day every publication is recorded at. Packs cite the day a source was published
 * (published_datasets.published_at): two loads on either side of midnight would differ by it
 * and nothing else. It is pinned on both sides, by this script only (no knob in the product).
 */
const PUBLISHED_AT = '2026-01-15T12:00:00Z';

async function main(): Promise<void> {
  const departements = process.argv.slice(2);
  const url = process.env.DATABASE_URL!;
  await ensureDatabase(url);
  await migrate(url);
  for (const id of pipelineOrder()) {
    try {
      const r = await runSource(id, { trigger: 'cli', log: () => undefined });
      const { status, millesime, read, loaded, rejected, published } = r;
      console.log(JSON.stringify({ source: id, status, millesime, read, loaded, rejected, published }));
    } catch (err) {
      console.log(JSON.stringify({ source: id, status: 'failed', error: (err as Error).message.slice(0, 300) }));
    }
  }
  await pool(url).query(`update published_datasets set published_at = $1`, [PUBLISHED_AT]);
  const report = await buildPacks({ departements, log: () => undefined });
  console.log(
    JSON.stringify({ packs: { built: report.built, unchanged: report.unchanged, failed: report.failed, errors: report.errors } }),
  );
  await closePools();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
