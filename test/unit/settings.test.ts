import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { SettingsObject, parseSettings } from '../../config/settings';

/**
 * Every knob lives in config/settings.ts, with a doc comment and a default, and the README's
 * settings table lists exactly those keys. Runs without PostgreSQL or Redis.
 */
const REPO = path.resolve(__dirname, '..', '..');
const KEYS = Object.keys(SettingsObject.shape).sort();
/** Keys whose default is "unset" (an off switch), said so in the README as "(none)". */
const UNSET_BY_DEFAULT = [
  'OPERATOR_TOKEN',
  'DOTATION_FAIL_AT',
  'PUBLICATION_KEY',
  'PUBLISHER_NAME',
  'PUBLISHER_CONTACT',
  'PUBLISHER_URL',
  'METRICS_PORT',
];

function readmeRows(): Map<string, string> {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Settings'), readme.indexOf('\n## ', readme.indexOf('## Settings') + 1));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| `') || cells.length < 3) continue;
    for (const m of cells[0].matchAll(/`([A-Z][A-Z0-9_]*)`/g)) rows.set(m[1], cells[1]);
  }
  return rows;
}

describe('settings', () => {
  test('the README table lists every key of the schema, and no other', () => {
    const rows = readmeRows();
    const documented = [...rows.keys()].sort();
    expect({ missingFromReadme: KEYS.filter((k) => !rows.has(k)), staleInReadme: documented.filter((k) => !KEYS.includes(k)) }).toEqual({
      missingFromReadme: [],
      staleInReadme: [],
    });
  });

  test('every key has a TSDoc comment in config/settings.ts', () => {
    const file = path.join(REPO, 'config', 'settings.ts');
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const documented = new Map<string, string>();
    const visit = (n: ts.Node) => {
      if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && /^[A-Z][A-Z0-9_]+$/.test(n.name.text)) {
        const doc = ts
          .getJSDocCommentsAndTags(n)
          .map((d) => (typeof d.comment === 'string' ? d.comment : (d.comment ?? []).map((c) => c.text).join('')))
          .join(' ')
          .trim();
        documented.set(n.name.text, doc);
      }
      ts.forEachChild(n, visit);
    };
    // Only the properties of the schema object (`export const SettingsObject = z.object({ … })`).
    const find = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'SettingsObject') visit(n);
      else ts.forEachChild(n, find);
    };
    find(sf);
    expect(KEYS.filter((k) => (documented.get(k) ?? '').length < 10)).toEqual([]);
  });

  test('every key has a default (or is an off switch, unset by default, said so in the README)', () => {
    const s = parseSettings({}) as Record<string, unknown>;
    expect(KEYS.filter((k) => s[k] === undefined).sort()).toEqual([...UNSET_BY_DEFAULT].sort());
    const rows = readmeRows();
    for (const k of UNSET_BY_DEFAULT) expect([k, rows.get(k)]).toEqual([k, '(none)']);
    // The README's default is the schema's, for the plain ones.
    for (const k of KEYS) {
      const dflt = rows.get(k) ?? '';
      const m = /^`([^`]*)`$/.exec(dflt);
      if (m && !['DATA_DIR', 'PACKS_DIR'].includes(k)) expect([k, String(s[k])]).toEqual([k, m[1]]);
    }
  });

  test('PUBLIC_BASE_URL defaults to the address the server listens on', () => {
    expect(parseSettings({}).PUBLIC_BASE_URL).toBe('http://127.0.0.1:3000');
    expect(parseSettings({ PORT: '3102' }).PUBLIC_BASE_URL).toBe('http://127.0.0.1:3102');
    expect(parseSettings({ HOST: 'dotation.local', PORT: '8080' }).PUBLIC_BASE_URL).toBe('http://dotation.local:8080');
    expect(parseSettings({ HOST: '0.0.0.0', PORT: '8080' }).PUBLIC_BASE_URL).toBe('http://127.0.0.1:8080');
    expect(parseSettings({ HOST: '::1', PORT: '8080' }).PUBLIC_BASE_URL).toBe('http://[::1]:8080');
    expect(parseSettings({ PORT: '8080', PUBLIC_BASE_URL: 'https://dotation.example.fr' }).PUBLIC_BASE_URL).toBe(
      'https://dotation.example.fr',
    );
  });

  test('the four knobs once read from process.env elsewhere are settings now, validated', () => {
    const s = parseSettings({
      DOTATION_BAN_WORKERS: '4',
      DOTATION_ENRICH_WORKERS: '3',
      DOTATION_BAN_ENRICH_IN_LOAD: '0',
      DOTATION_FAIL_AT: 'ban:before-commit',
    });
    expect(s).toMatchObject({
      DOTATION_BAN_WORKERS: 4,
      DOTATION_ENRICH_WORKERS: 3,
      DOTATION_BAN_ENRICH_IN_LOAD: false,
      DOTATION_FAIL_AT: 'ban:before-commit',
    });
    expect(() => parseSettings({ DOTATION_BAN_WORKERS: '0' })).toThrow(/DOTATION_BAN_WORKERS/);
    expect(() => parseSettings({ DOTATION_FAIL_AT: 'oops' })).toThrow(/DOTATION_FAIL_AT/);
  });

  test('no code outside config/settings.ts reads a knob from process.env', () => {
    const out = execFileSync('grep', ['-rnE', 'process\\.env(\\.|\\[)', 'src', 'pipelines'], { cwd: REPO, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      // PATH is the system's, looked up to find ogr2ogr.
      .filter((l) => !/process\.env\.PATH\b/.test(l));
    expect(out).toEqual([]);
  });
});

describe('one logger honours LOG_LEVEL and LOG_FORMAT', () => {
  const log = (env: Record<string, string>) =>
    spawnSync(
      process.execPath,
      [
        '-r',
        'tsx/cjs',
        '-e',
        "const {logTo}=require('./src/log'); logTo('cog')('chargé'); logTo('cog','warn')('attention'); logTo('cog','debug')('détail')",
      ],
      {
        cwd: REPO,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      },
    );
  test('levels', () => {
    expect(log({ LOG_LEVEL: 'silent' }).stderr).toBe('');
    const warn = log({ LOG_LEVEL: 'warn', LOG_FORMAT: 'pretty' }).stderr;
    expect(warn).toMatch(/\[cog\] attention/);
    expect(warn).not.toMatch(/chargé|détail/);
    const debug = log({ LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' }).stderr;
    expect(debug).toMatch(/INFO.*\[cog\] chargé/);
    expect(debug).toMatch(/\[cog\] détail/);
  });
  test('JSON lines on stderr, nothing on stdout', () => {
    const r = log({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
    expect(r.stdout).toBe('');
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.name, l.msg])).toEqual([
      [30, 'cog', 'chargé'],
      [40, 'cog', 'attention'],
    ]);
  });
});
