import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Pipeline } from '../../src/engine/pipeline';
import type { RunReport } from '../../src/engine/runner';
import { columnPositions, buildPacks } from '../../src/packs/build';
import { readManifest } from '../../src/packs/store';
import { readZipEntries } from '../../src/packs/zip';
import { validateCsv, type TableSchema } from '../../src/packs/format';
import { perCommuneSql, perCommuneSqlOf } from '../../src/packs/section';

/**
 * The pipeline conformance checks (in the spirit of BullMQ's adapter-conformance test): what
 * every folder of `pipelines/` must satisfy, each failure worded for the newcomer who added it.
 * test/conformance.test.ts runs them on the registry; they return problems instead of throwing,
 * so one test shows every problem of a pipeline at once.
 */
export interface ConformanceEnv {
  db: Pool;
  /** Where fixture folders are (`test/fixtures`). */
  fixturesRoot: string;
  /** Runs the source with `mirror` as MIRROR_DIR (through the worker, or inline). */
  run(id: string, pipeline: Pipeline, mirror: string): Promise<RunReport>;
  /** A directory of its own for the mirror of this check. */
  workDir: string;
  /** PACKS_DIR the pack builder writes into; omitted: built CSVs are not checked. */
  packsDir?: string;
}

const rel = (p: string) => path.relative(path.resolve(__dirname, '..', '..'), p) || p;

/** Files of the fixture folder named as one of the source's resources (the folder is used as the mirror). */
function matchingFixtures(dir: string, p: Pipeline): string[] {
  const names = p.source.resources.flatMap((r) => r.mirrorNames.map((n) => n.toLowerCase()));
  // A mirror name with `*` (names that carry their date: rna_waldec_*.zip) matches as the harvester does.
  const globs = names
    .filter((n) => n.includes('*'))
    .map(
      (n) =>
        new RegExp(
          `^${n
            .split('*')
            .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
    );
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && (names.includes(e.name.toLowerCase()) || globs.some((g) => g.test(e.name.toLowerCase()))))
    .map((e) => e.name);
}

/** Every commune actuelle and arrondissement municipal of the referential. */
async function allCodes(db: Pool): Promise<string[]> {
  const { rows } = await db.query(`select code from communes where type in ('commune-actuelle', 'arrondissement-municipal') order by code`);
  return rows.map((r) => r.code as string);
}

/**
 * Column names and communes with rows of one pack query. A per-commune query (`$code`) is asked
 * for every commune at once through a lateral join ($code standing for the commune's column).
 */
async function runPackQuery(
  db: Pool,
  sql: string,
  perCommune: boolean,
  codes: string[],
): Promise<{ columns: string[]; communes: Set<string> }> {
  if (!perCommune) {
    const res = await db.query({ text: sql, values: [codes], rowMode: 'array' });
    const at = res.fields.findIndex((f) => f.name === 'code_commune');
    return { columns: res.fields.map((f) => f.name), communes: new Set(at < 0 ? [] : res.rows.map((r) => r[at] as string)) };
  }
  const probe = await db.query(`select * from (${perCommuneSql(sql, codes[0])}) q limit 0`);
  const { rows } = await db.query(`select c from unnest($1::text[]) c where exists (select 1 from (${perCommuneSqlOf(sql, 'c')}) q)`, [
    codes,
  ]);
  return { columns: probe.fields.map((f) => f.name), communes: new Set(rows.map((r) => r.c as string)) };
}

/** A README sentence saying no genuine file was found (« No genuine BPE file was found », « no genuine bytes were found »). */
const NONE_FOUND = /\bno genuine\b[^.]*\b(found|seen)\b/i;
/** A README sentence naming where the layout came from (« The layouts come from … », « layout from … », « … documents »). */
const LAYOUT_FROM = /\blayouts?\b[^.]*\b(from|document\w*)\b/i;

/**
 * The documentation a README names for its layout: a link, a code-id of the search index, a file of a
 * public repository at a commit (`owner/repo path@abc1234`, `path@abc1234`), or a page of docs/.
 */
const NAMED_SOURCE =
  /(https?:\/\/[^\s)>]+|\bcode-ids?\b[^.\n]{0,3}\d{6,}|\b[\w.-]+\/[\w.-]+(?: `[^`]+`)?@[0-9a-f]{7,}\b|\bdocs\/[\w/.-]+\.md\b)/i;

/**
 * The fixture folder says where its bytes come from: `real/` holds genuine upstream lines and a
 * PROVENANCE.md, or the folder's README says no genuine file was found and where the layout of
 * its synthetic files came from. Undefined when it does; else the problem, worded for the newcomer.
 */
export function provenanceProblem(where: string, dir: string): string | undefined {
  const real = path.join(dir, 'real');
  if (fs.existsSync(path.join(real, 'PROVENANCE.md')) && fs.readdirSync(real).some((f) => f !== 'PROVENANCE.md')) return undefined;
  const readme = path.join(dir, 'README.md');
  const text = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  if (NONE_FOUND.test(text) && LAYOUT_FROM.test(text) && NAMED_SOURCE.test(text)) return undefined;
  const missing = !text
    ? 'there is no README'
    : !NONE_FOUND.test(text)
      ? 'no sentence like « No genuine … file was found »'
      : !LAYOUT_FROM.test(text)
        ? 'no sentence like « The layout comes from … »'
        : 'it names no documentation: a link, a code-id, or a repository file at a commit';
  return (
    `${where}: ${rel(dir)}/ does not say where its bytes come from. Put genuine whole-line extracts of the upstream file in ` +
    `${rel(real)}/ with a PROVENANCE.md (origin repository, path, commit, edition, what was cut), or say in ${rel(readme)} that ` +
    `no genuine file was found and where the layout of the synthetic files came from (${missing}).`
  );
}

/** Problems of one pipeline; an empty list when it conforms. */
export async function conformanceProblems(id: string, p: Pipeline, env: ConformanceEnv): Promise<string[]> {
  const problems: string[] = [];
  const where = `pipelines/${id}`;

  // 1. A fixture folder, laid out as a mirror.
  const root = path.join(env.fixturesRoot, id);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    return [
      `${where}: no fixture folder. Add ${rel(root)}/ with small files named as the resources of ${where}/source.ts ` +
        `(mirrorNames: ${p.source.resources.map((r) => r.mirrorNames[0]).join(', ')}): genuine whole-line extracts in real/ with a PROVENANCE.md, ` +
        `or synthetic files with a README saying so and which documentation their layout follows.`,
    ];
  }
  // 1b. Where the bytes come from: genuine lines (real/ with its PROVENANCE.md), or a README
  //     saying none was found and which documentation the synthetic layout follows.
  const provenance = provenanceProblem(where, root);
  if (provenance) problems.push(provenance);
  // The folder is the mirror; a source whose only fixtures are genuine extracts runs on real/.
  const real = path.join(root, 'real');
  const dir = !matchingFixtures(root, p).length && fs.existsSync(real) && matchingFixtures(real, p).length ? real : root;
  const matching = matchingFixtures(dir, p);
  if (!matching.length && !p.embedded) {
    return [
      ...problems,
      `${where}: ${rel(dir)}/ holds no file named as a resource (mirrorNames: ${p.source.resources.flatMap((r) => r.mirrorNames).join(', ')}); ` +
        `the conformance run uses the folder as the mirror, so at least one file must carry an upstream name.`,
    ];
  }

  // 2. A run on it adds up and loads something.
  const mirror = path.join(env.workDir, 'mirror');
  fs.rmSync(mirror, { recursive: true, force: true });
  fs.mkdirSync(mirror, { recursive: true });
  fs.symlinkSync(dir, path.join(mirror, id));
  let report: RunReport;
  try {
    report = await env.run(id, p, mirror);
  } catch (err) {
    return [...problems, `${where}: the run on ${rel(dir)}/ failed: ${(err as Error).message}`];
  }
  if (report.status !== 'succeeded')
    return [...problems, `${where}: the run on ${rel(dir)}/ ended '${report.status}'${report.error ? `: ${report.error}` : ''}`];
  if (report.read !== report.loaded + report.rejected)
    problems.push(
      `${where}: rows do not add up on ${rel(dir)}/: read ${report.read} ≠ loaded ${report.loaded} + rejected ${report.rejected}`,
    );
  if (!(report.loaded > 0))
    problems.push(
      `${where}: the run on ${rel(dir)}/ loaded no row (read ${report.read}, rejected ${report.rejected}): give the fixture at least one good row`,
    );

  // 3. Pack queries: code_commune and the declared fields, by name; rows for the fixture's communes.
  const pack = p.pack;
  if (!pack) return problems;
  const codes = await allCodes(env.db);
  const withRows = new Set<string>();
  for (const t of pack.tables) {
    const label = `${where}/pack.ts table '${t.name}'`;
    try {
      const { columns, communes } = await runPackQuery(env.db, t.query, !!t.perCommune, codes);
      const expected = t.perCommune ? t.fields.map((f) => f.name) : ['code_commune', ...t.fields.map((f) => f.name)];
      columnPositions(label, columns, expected);
      for (const c of communes) withRows.add(c);
    } catch (err) {
      problems.push(
        /^pipelines\//.test((err as Error).message) ? (err as Error).message : `${label}: the query fails: ${(err as Error).message}`,
      );
    }
  }
  for (const l of pack.layers ?? []) {
    const label = `${where}/pack.ts layer '${l.name}'`;
    try {
      const { columns, communes } = await runPackQuery(env.db, l.query, !!l.perCommune, codes);
      columnPositions(label, columns, l.perCommune ? ['feature'] : ['code_commune', 'properties', 'geometry']);
      for (const c of communes) withRows.add(c);
    } catch (err) {
      problems.push(
        /^pipelines\//.test((err as Error).message) ? (err as Error).message : `${label}: the query fails: ${(err as Error).message}`,
      );
    }
  }
  if (!withRows.size && !problems.length)
    problems.push(`${where}: after the run on ${rel(dir)}/, the pack queries return no row for any commune: check their joins and filters`);

  // 4. sliceVersion: (code, version), one row per code asked.
  if (pack.sliceVersion) {
    try {
      const sample = codes.slice(0, 50);
      const res = await env.db.query(pack.sliceVersion, [sample]);
      const cols = res.fields.map((f) => f.name);
      if (cols.join(',') !== 'code,version')
        problems.push(`${where}/pack.ts sliceVersion: must return columns code, version (it returns ${cols.join(', ')})`);
      else {
        const answered = new Set(res.rows.map((r) => r.code as string));
        const missing = sample.filter((c) => !answered.has(c));
        if (missing.length || res.rows.length !== sample.length)
          problems.push(
            `${where}/pack.ts sliceVersion: must answer each code of $1 once (${res.rows.length} rows for ${sample.length} codes, missing ${missing.slice(0, 5).join(', ')})`,
          );
      }
    } catch (err) {
      problems.push(`${where}/pack.ts sliceVersion: the query fails: ${(err as Error).message}`);
    }
  }

  // 5. The built CSVs validate against their declared Table Schema.
  if (env.packsDir && withRows.size && !problems.length) {
    const sample = [...withRows].sort().slice(0, 3);
    const report = await buildPacks({ communes: sample, log: () => undefined });
    if (report.failed)
      problems.push(
        `${where}: packs of ${sample.join(', ')} failed to build: ${report.errors.map((e) => `${e.code}: ${e.error}`).join('; ')}`,
      );
    const ours = new Set(pack.tables.flatMap((t) => [`${t.name}.csv`, `${id}-${t.name}.csv`]));
    for (const code of sample) {
      const m = readManifest(env.packsDir, code);
      if (!m) {
        problems.push(`${where}: no pack built for ${code}`);
        continue;
      }
      const files = await readZipEntries(path.join(env.packsDir, code, m.versions[0].file));
      const dp = JSON.parse(files.get('datapackage.json')!.toString('utf8')) as { resources: { path: string; schema?: TableSchema }[] };
      for (const res of dp.resources.filter((r) => ours.has(r.path))) {
        const data = files.get(res.path);
        if (!data) problems.push(`${where}: ${code}/${res.path} is declared in datapackage.json but not in the ZIP`);
        else if (!res.schema) problems.push(`${where}: ${code}/${res.path} has no Table Schema in datapackage.json`);
        else for (const e of validateCsv(data.toString('utf8'), res.schema)) problems.push(`${where}: ${code}/${res.path}: ${e}`);
      }
    }
  }
  return problems;
}
