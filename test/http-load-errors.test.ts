import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FastifyInstance } from 'fastify';
import { freshDatabase } from './helpers/db';
import { runSource } from '../src/engine/runner';
import { buildServer } from '../src/server/app';
import { closeQueues } from '../src/queue/queue';
import { closeRedisConnections } from '../src/queue/connection';

/**
 * Issue 13, probe 8: load failures as the operator sees them over HTTP name the file and the line.
 * A NUL byte used to fail the whole run with PostgreSQL's "invalid byte sequence … 0x00" (no file,
 * no line); rows rejected in the SQL phase named the pipeline's default file, not the file given.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'packs', 'donnees_communes.csv');
const TOKEN = 'operator-token-for-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotation-load-errors-'));
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await closeQueues();
  await closeRedisConnections();
  await db.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The fixture with its third line (La Chapelle-Janson, 35062) changed by `edit`, written as `name`. */
function variant(name: string, edit: (line: Buffer) => Buffer): string {
  const lines = fs.readFileSync(FIXTURE).toString('latin1').split('\n');
  lines[2] = edit(Buffer.from(lines[2], 'latin1')).toString('latin1');
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.from(lines.join('\n'), 'latin1'));
  return file;
}
const quarantineOf = async (run: number) => (await app.inject({ url: `/operator/runs/${run}/quarantine`, headers: auth })).json();

test('a NUL byte: the row is quarantined with its file, line and column; the rest is loaded', async () => {
  const file = variant('donnees_communes.csv', (l) => Buffer.from(l.toString('latin1').replace('Chapelle', 'Chap\u0000elle'), 'latin1'));
  const r = await runSource('populations', { file, trigger: 'test', force: true, log: () => undefined });
  expect(r.status).toBe('succeeded');
  const q = await quarantineOf(r.runId);
  expect(q.rejected).toBe(1);
  expect(q.rows).toEqual([expect.objectContaining({ file: 'donnees_communes.csv', line: 3, reason: 'column Commune: NUL byte (0x00)' })]);
  expect(q.rows[0].raw).toContain('Chap\\0elle');
});

test('a row rejected in the SQL phase names the file given, not the default upstream name', async () => {
  const file = variant('mes-populations.csv', (l) => Buffer.from(l.toString('latin1').replace(';062;35062;', ';999;35999;'), 'latin1'));
  const r = await runSource('populations', { file, trigger: 'test', force: true, log: () => undefined });
  const q = await quarantineOf(r.runId);
  expect(q.rows).toEqual([expect.objectContaining({ file: 'mes-populations.csv', line: 3 })]);
  expect(q.rows[0].reason).toMatch(/35999/);
});

test('a failed load: the run listed by the operator API names file, line and column', async () => {
  const file = path.join(dir, 'sans-ptot.csv');
  fs.writeFileSync(file, 'REG;DEP;CODCOM;COM;PMUN;PCAP\n53;35;238;35238;1;1\n');
  await expect(runSource('populations', { file, trigger: 'test', force: true, log: () => undefined })).rejects.toThrow();
  const runs = (await app.inject({ url: '/operator/runs?source=populations&status=failed', headers: auth })).json();
  expect(runs[0].error).toMatch(/^sans-ptot\.csv, line 1, column PTOT: missing column/);
});
