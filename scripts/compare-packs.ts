/**
 * Are the packs byte-identical before and after a change? Loads every pipeline's fixtures
 * (test/fixtures/<source>/ of THIS checkout, used as the mirror by both sides) into a scratch
 * database at two revisions — a reference (a temporary `git worktree`) and this checkout —,
 * builds the packs of a set of départements on each side, and compares the ZIP bytes of every
 * commune's latest pack. For a pack that differs, it names the entries that differ and shows
 * their first differing lines.
 *
 *   npx tsx scripts/compare-packs.ts [--ref 45cb26c] [--head REV] [--departements 01,2A,35,69,75,974] [--without elections] [--keep]
 *
 * `--head` compares two revisions (both in temporary worktrees) instead of the reference and this
 * checkout: `--ref X^ --head X` isolates what commit X changed.
 *
 * `--without` leaves sources out of the mirror (to set aside a difference that is intended).
 *
 * Time: packs cite the day each source was published; scripts/compare-packs-child.ts pins that
 * day on both sides (the only clock a pack holds: ZIP entries carry a fixed date, src/packs/zip.ts).
 * The BAN's millésime is the date of its files: both sides read the same fixture files.
 * Needs PostgreSQL + PostGIS (scratch databases `dotation_compare_*`, dropped at the end) and
 * the reference's dependencies (node_modules of this checkout when package-lock.json is the
 * same, else `npm ci` in the worktree).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { readZipEntries } from '../src/packs/zip';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    ref: { type: 'string', default: '45cb26c' },
    head: { type: 'string' },
    departements: { type: 'string', default: '01,2A,35,69,75,974' },
    keep: { type: 'boolean', default: false },
    without: { type: 'string', default: '' },
    'pg-url': { type: 'string', default: process.env.COMPARE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432' },
  },
});

const sh = (cmd: string, args: string[], cwd = ROOT) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
};

interface Side {
  name: 'ref' | 'head';
  tree: string;
  rev: string;
  db: string;
  packs: string;
  runs: Record<string, Record<string, unknown>>;
}

async function admin<T>(pgUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${pgUrl}/postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function runSide(side: Side, mirror: string, departements: string[], pgUrl: string): void {
  const env = {
    ...process.env,
    DATABASE_URL: `${pgUrl}/${side.db}`,
    MIRROR_DIR: mirror,
    PACKS_DIR: side.packs,
    DATA_DIR: path.join(path.dirname(side.packs), 'data'),
    NETWORK: 'never',
    LOG_LEVEL: 'silent',
    PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    QUEUE_PREFIX: `dotation-compare-${process.pid}`,
  };
  const t0 = Date.now();
  const r = spawnSync('npx', ['tsx', 'scripts/compare-packs-child.ts', ...departements], { cwd: side.tree, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${side.name} (${side.rev}): ${r.stderr.slice(-2000)}`);
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const o = JSON.parse(line);
    if (o.source) side.runs[o.source] = o;
    else if (o.packs) side.runs['(packs)'] = o.packs;
  }
  console.log(`${side.name} ${side.rev}: loaded and built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Latest pack ZIP of each commune of a PACKS_DIR. */
function latestZips(packs: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(packs)) return out;
  for (const code of fs.readdirSync(packs)) {
    const manifest = path.join(packs, code, 'latest.json');
    if (!fs.existsSync(manifest)) continue;
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { versions: { file: string }[] };
    out.set(code, path.join(packs, code, m.versions[0].file));
  }
  return out;
}

/** First lines that differ between two texts (a short view, not a full diff). */
function lineDiff(a: string, b: string, max = 4): string[] {
  const la = a.split('\n');
  const lb = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(la.length, lb.length) && out.length < max * 2; i++) {
    if (la[i] === lb[i]) continue;
    if (la[i] !== undefined) out.push(`    - ${la[i].slice(0, 160)}`);
    if (lb[i] !== undefined) out.push(`    + ${lb[i].slice(0, 160)}`);
  }
  return out;
}

/** True when this checkout's package.json has every dependency of `tree`'s at the same version. */
function covered(tree: string): boolean {
  const deps = (dir: string) => {
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return { ...p.dependencies, ...p.devDependencies } as Record<string, string>;
  };
  const ours = deps(ROOT);
  return Object.entries(deps(tree)).every(([name, version]) => ours[name] === version);
}

async function main(): Promise<void> {
  const pgUrl = values['pg-url']!;
  const departements = values.departements!.split(',').filter(Boolean);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-compare-'));
  const refTree = path.join(work, 'ref');
  const refRev = sh('git', ['rev-parse', '--short', values.ref!]);
  const headTree = values.head ? path.join(work, 'head') : ROOT;
  const headRev = values.head
    ? sh('git', ['rev-parse', '--short', values.head])
    : sh('git', ['rev-parse', '--short', 'HEAD']) +
      (sh('git', ['status', '--porcelain', '--', 'src', 'pipelines', 'config', 'sql']) ? '+changes' : '');
  sh('git', ['worktree', 'add', '--detach', refTree, refRev]);
  if (values.head) sh('git', ['worktree', 'add', '--detach', headTree, headRev]);
  const tag = `${process.pid}_${crypto.randomBytes(2).toString('hex')}`;
  const sides: Side[] = [
    { name: 'ref', tree: refTree, rev: refRev, db: `dotation_compare_ref_${tag}`, packs: path.join(work, 'ref-out', 'packs'), runs: {} },
    {
      name: 'head',
      tree: headTree,
      rev: headRev,
      db: `dotation_compare_head_${tag}`,
      packs: path.join(work, 'head-out', 'packs'),
      runs: {},
    },
  ];
  try {
    // The worktrees' dependencies (this checkout's node_modules when it has each of their
    // packages at the same version, else `npm ci`), and the child script, which they may lack.
    for (const tree of values.head ? [refTree, headTree] : [refTree]) {
      if (covered(tree)) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
      else sh('npm', ['ci', '--no-audit', '--no-fund'], tree);
      fs.mkdirSync(path.join(tree, 'scripts'), { recursive: true });
      fs.copyFileSync(path.join(__dirname, 'compare-packs-child.ts'), path.join(tree, 'scripts', 'compare-packs-child.ts'));
    }

    // One mirror for both sides: test/fixtures/<source> of this checkout, for every pipeline folder.
    const mirror = path.join(work, 'mirror');
    fs.mkdirSync(mirror);
    const without = new Set(values.without!.split(',').filter(Boolean));
    const ids = fs
      .readdirSync(path.join(ROOT, 'pipelines'))
      .filter((d) => fs.existsSync(path.join(ROOT, 'test', 'fixtures', d)) && !without.has(d));
    for (const id of ids) fs.symlinkSync(path.join(ROOT, 'test', 'fixtures', id), path.join(mirror, id));
    console.log(`reference ${refRev} vs ${headRev}; mirror: test/fixtures/{${ids.join(',')}}; départements ${departements.join(', ')}`);

    for (const side of sides) runSide(side, mirror, departements, pgUrl);

    // The runs, side by side.
    console.log('\nruns (ref → head):');
    const sources = [...new Set([...Object.keys(sides[0].runs), ...Object.keys(sides[1].runs)])];
    for (const s of sources) {
      const [a, b] = sides.map((x) => x.runs[s]);
      const show = (o?: Record<string, unknown>) =>
        !o
          ? '(none)'
          : o.status === 'failed'
            ? `failed: ${o.error}`
            : s === '(packs)'
              ? JSON.stringify(o)
              : `${o.status} ${o.millesime ?? ''} read ${o.read} loaded ${o.loaded} rejected ${o.rejected} published ${o.published}`;
      const same = JSON.stringify(a) === JSON.stringify(b);
      console.log(`  ${s.padEnd(12)} ${show(a)}${same ? '  (same)' : `\n  ${''.padEnd(12)} ${show(b)}`}`);
    }

    // The packs.
    const [ra, rb] = sides.map((x) => latestZips(x.packs));
    const codes = [...new Set([...ra.keys(), ...rb.keys()])].sort();
    let identical = 0;
    const onlyOne: string[] = [];
    const byEntry = new Map<string, { codes: string[]; example: string[] }>();
    for (const code of codes) {
      const a = ra.get(code);
      const b = rb.get(code);
      if (!a || !b) {
        onlyOne.push(`${code} (${a ? 'ref' : 'head'} only)`);
        continue;
      }
      const [ba, bb] = [fs.readFileSync(a), fs.readFileSync(b)];
      if (ba.equals(bb)) {
        identical++;
        continue;
      }
      const [ea, eb] = await Promise.all([readZipEntries(a), readZipEntries(b)]);
      for (const name of [...new Set([...ea.keys(), ...eb.keys()])].sort()) {
        const [x, y] = [ea.get(name), eb.get(name)];
        if (x && y && x.equals(y)) continue;
        const d = byEntry.get(name) ?? { codes: [], example: [] };
        d.codes.push(code);
        if (d.codes.length === 1)
          d.example =
            !x || !y ? [`    (${x ? 'ref' : 'head'} only)`] : [`    ${code}:`, ...lineDiff(x.toString('utf8'), y.toString('utf8'))];
        byEntry.set(name, d);
      }
    }
    console.log(
      `\npacks: ${codes.length} communes, ${identical} byte-identical ZIPs, ${codes.length - identical - onlyOne.length} differing${onlyOne.length ? `, ${onlyOne.length} on one side only: ${onlyOne.slice(0, 10).join(', ')}` : ''}`,
    );
    for (const [name, d] of [...byEntry.entries()].sort((p, q) => q[1].codes.length - p[1].codes.length)) {
      console.log(`  ${name}: differs in ${d.codes.length} pack(s) (${d.codes.slice(0, 6).join(', ')}${d.codes.length > 6 ? ', …' : ''})`);
      for (const l of d.example) console.log(l);
    }
    if (identical === codes.length && codes.length) console.log('RESULT: every pack is byte-identical');
    else console.log('RESULT: packs differ (see above)');
  } finally {
    if (!values.keep) {
      await admin(pgUrl, async (c) => {
        for (const s of sides) await c.query(`drop database if exists ${s.db} with (force)`);
      }).catch((e) => console.error(`cleanup: ${(e as Error).message}`));
      spawnSync('git', ['worktree', 'remove', '--force', refTree], { cwd: ROOT });
      if (values.head) spawnSync('git', ['worktree', 'remove', '--force', headTree], { cwd: ROOT });
      fs.rmSync(work, { recursive: true, force: true });
    } else console.log(`kept: ${work} and databases ${sides.map((s) => s.db).join(', ')}`);
  }
}

main().catch((err) => {
  console.error(`compare-packs: ${(err as Error).message}`);
  process.exit(1);
});
