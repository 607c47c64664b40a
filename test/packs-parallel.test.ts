import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks, CommuneOutcome } from '../src/packs/build';
import { settings, resetSettings } from '../config/settings';
import { readManifest } from '../src/packs/store';

/**
 * A build spread over processes (src/packs/parallel.ts) gives the same packs, the same report and
 * the same per-commune outcomes as a build in one process; the caller cannot tell them apart.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');
const DEPARTEMENTS = ['35', '2A', '75'];

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
  const r = await runSource('populations', { file: FIXTURE, trigger: 'test', log: () => undefined });
  expect(r.status).toBe('succeeded');
});
afterAll(async () => db.cleanup());

/** Every commune's latest pack: version and sha256 of its ZIP, as the manifest on disk says. */
function packsOnDisk(dir: string): Map<string, { sha256: string; bytes: number }> {
  const out = new Map<string, { sha256: string; bytes: number }>();
  for (const code of fs.readdirSync(dir)) {
    const m = readManifest(dir, code);
    if (m) out.set(code, { sha256: m.versions[0].sha256, bytes: m.versions[0].bytes });
  }
  return out;
}

async function buildInto(dir: string, processes: number, outcomes: CommuneOutcome[]) {
  process.env.PACKS_DIR = dir;
  resetSettings();
  await pool().query(`delete from pack_builds`);
  const logs: string[] = [];
  const report = await buildPacks({
    departements: DEPARTEMENTS,
    processes,
    log: (m) => logs.push(m),
    onCommune: (o) => outcomes.push(o),
  });
  return { report, logs };
}

test('three départements in two processes: the same packs, report and outcomes as in one process', async () => {
  const base = settings().PACKS_DIR;
  const one: CommuneOutcome[] = [];
  const two: CommuneOutcome[] = [];
  const a = await buildInto(path.join(base, 'one'), 1, one);
  const b = await buildInto(path.join(base, 'two'), 2, two);
  expect(a.logs).toEqual([]);
  expect(b.logs).toEqual([]);
  const { rows } = await pool().query(
    `select count(*)::int as n from communes where type in ('commune-actuelle', 'arrondissement-municipal') and departement = any($1)`,
    [DEPARTEMENTS],
  );
  expect(a.report).toMatchObject({ built: rows[0].n, unchanged: 0, failed: 0 });
  expect({ ...b.report, seconds: 0 }).toEqual({ ...a.report, seconds: 0 });
  // ZIPs are deterministic: a pack built by a child process is byte for byte the one built here.
  const pa = packsOnDisk(path.join(base, 'one'));
  const pb = packsOnDisk(path.join(base, 'two'));
  expect(pa.size).toBe(rows[0].n);
  expect([...pb.entries()].sort()).toEqual([...pa.entries()].sort());
  const key = (o: CommuneOutcome) => `${o.code} ${o.departement} ${o.status}`;
  expect(two.map(key).sort()).toEqual(one.map(key).sort());
  // The ledger was written by the children: every commune has its row, with the version on disk.
  const { rows: ledger } = await pool().query(`select code, sha256 from pack_builds`);
  expect(new Map(ledger.map((r) => [r.code, r.sha256]))).toEqual(new Map([...pb].map(([c, p]) => [c, p.sha256])));
}, 240_000);

test('a child killed mid-build: its unreported communes fail with the reason, the others are built, the next build completes them', async () => {
  const base = settings().PACKS_DIR;
  process.env.PACKS_DIR = path.join(base, 'killed');
  resetSettings();
  await pool().query(`delete from pack_builds`);
  const outcomes: CommuneOutcome[] = [];
  const logs: string[] = [];
  let killed = false;
  const report = await buildPacks({
    departements: DEPARTEMENTS,
    processes: 2,
    log: (m) => logs.push(m),
    onCommune: (o) => {
      outcomes.push(o);
      if (killed) return;
      // The first pack done: kill -9 one of the build's child processes.
      const pids = execSync(`pgrep -P ${process.pid} -f build-child`, { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      process.kill(pids[0], 'SIGKILL');
      killed = true;
    },
  });
  expect(killed).toBe(true);
  const { rows } = await pool().query(
    `select code from communes where type in ('commune-actuelle', 'arrondissement-municipal') and departement = any($1)`,
    [DEPARTEMENTS],
  );
  // Every commune reported exactly once; none lost.
  expect(outcomes.map((o) => o.code).sort()).toEqual(rows.map((r) => r.code).sort());
  expect(report.built + report.failed).toBe(rows.length);
  expect(logs.some((l) => /pack build process \d exited \(SIGKILL\)/.test(l))).toBe(true);
  const failed = outcomes.filter((o) => o.status === 'failed');
  for (const o of failed) expect(o.error).toMatch(/processus de construction \d s'est arrêté \(SIGKILL\)/);
  // The next build (one process) completes them: a failed commune is built, or found unchanged when
  // the killed child had already written its ZIP; afterwards every commune has its pack and ledger row.
  const after = new Map<string, string>();
  const again = await buildPacks({ departements: DEPARTEMENTS, processes: 1, onCommune: (o) => after.set(o.code, o.status) });
  expect(again.failed).toBe(0);
  for (const o of failed) expect(['built', 'unchanged']).toContain(after.get(o.code));
  const { rows: ledger } = await pool().query(`select code, version from pack_builds`);
  expect(ledger.map((r) => r.code).sort()).toEqual(rows.map((r) => r.code).sort());
  for (const r of ledger) expect(readManifest(settings().PACKS_DIR, r.code)?.versions[0].version).toBe(r.version);
}, 240_000);
