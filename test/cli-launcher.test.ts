import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freshDatabase } from './helpers/db';
import { closedPort } from './helpers/net';

/**
 * The README's commands, run exactly as a user types them: `npx dotation …` and
 * `npm run dotation -- …` in a child process, from the repository root. npx starts the
 * package through a link in its own cache (`~/.npm/_npx/<hash>/node_modules/.bin/dotation`),
 * so this test fails if the CLI goes back to guessing its entry point from `argv[1]`.
 */
const root = path.resolve(__dirname, '..');
let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...db.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npx dotation, as the README types it', () => {
  test('--help prints the usage and exits 0', () => {
    const r = run('npx', ['dotation', '--help']);
    expect(r.stderr).not.toMatch(/unknown command/);
    expect(r.stdout).toMatch(/^dotation — la dotation de données des communes/);
    expect(r.stdout).toMatch(/Usage:/);
    expect(r.stdout).toMatch(/dotation run <source>/);
    expect(r.status).toBe(0);
  });

  test('sources lists every pipeline folder', () => {
    const r = run('npx', ['dotation', 'sources']);
    expect(r.status).toBe(0);
    const ids = r.stdout
      .split('\n')
      .slice(2)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean);
    expect(ids).toEqual(expect.arrayContaining(['cog', 'populations', 'ban', 'etat-civil']));
  });

  test('migrate on an empty database creates the schema', async () => {
    const name = `${new URL(db.url).pathname.slice(1)}_cli`;
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${name}`);
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      const r = run('npx', ['dotation', 'migrate'], { DATABASE_URL: url.toString() });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/\d+ migration\(s\) applied/);
      expect(r.status).toBe(0);
      const again = run('npx', ['dotation', 'migrate'], { DATABASE_URL: url.toString() });
      expect(again.stdout).toMatch(/database is up to date/);
      expect(again.status).toBe(0);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  test('an unknown command prints the usage on stderr and exits 2', () => {
    const r = run('npx', ['dotation', 'no-such-command']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/unknown command 'no-such-command'/);
    expect(r.stderr).toMatch(/Usage:/);
  });

  test('an unknown option prints the usage on stderr and exits 2', () => {
    const r = run('npx', ['dotation', 'sources', '--no-such-option']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--no-such-option/);
    expect(r.stderr).toMatch(/Usage:/);
  });

  test('no command at all: usage on stderr, exit 2', () => {
    const r = run('npx', ['dotation']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage:/);
  });
});

describe('npm run dotation -- …', () => {
  test('--help prints the usage', () => {
    const r = run('npm', ['run', '-s', 'dotation', '--', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage:/);
  });
});

/** A process's state letter from /proc (null when it is gone); Z: ended, not yet reaped by its (new) parent. */
function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}
const running = (pid: number) => ![null, 'Z', 'X'].includes(procState(pid));

describe('npx dotation serve under a process manager', () => {
  test('SIGTERM to the npx process stops the server itself (npx runs it through sh -c and does not pass the signal on)', async () => {
    const port = await closedPort();
    const child = spawn('npx', ['dotation', 'serve'], {
      cwd: root,
      env: { ...process.env, ...db.env, PORT: String(port), LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const npxExit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let server = 0;
    try {
      // The server's pid, from its log line (npx → sh -c → node: not the child's pid).
      for (let i = 0; i < 600 && !server; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const line = out.split('\n').find((l) => l.includes('"msg":"serving on '));
        if (line) server = JSON.parse(line).pid;
      }
      expect(server).toBeGreaterThan(0);
      expect(server).not.toBe(child.pid);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

      const t0 = Date.now();
      child.kill('SIGTERM');
      await npxExit;
      while (running(server) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
      expect(running(server)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
      // It stopped as on a SIGTERM of its own: requests finished, connections closed, exit 0.
      expect(out).toMatch(/"msg":"SIGTERM: stopping \(requests in flight finish first\)"/);
      expect(out).toMatch(/"msg":"stopped"/);
    } finally {
      if (server && running(server)) process.kill(server, 'SIGKILL');
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
