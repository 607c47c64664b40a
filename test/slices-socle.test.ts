import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';

/**
 * Issue 14 acceptance: "a run where only one new source was republished rebuilds only the packs
 * whose slice changed". The three socle sources whose own tests do not check it (marchés publics,
 * permis de construire, urbanisme) loaded together from their SYNTHETIC fixtures; each is then
 * republished with one line changed that touches one commune, and a build of the same communes
 * rebuilds that commune's pack alone (the others are skipped unread: their slice versions did not move).
 */
const FIX = path.join(__dirname, 'fixtures');
const quiet = { trigger: 'test', log: () => undefined } as const;
/** Rennes, Acigné (Rennes Métropole: its contracts and PLUi), Baulon, Paris, Ajaccio, Bourg-en-Bresse. */
const CODES = ['35238', '35001', '35016', '75056', '2A004', '01053'];

let db: Awaited<ReturnType<typeof freshDatabase>>;
let tmp: string;
beforeAll(async () => {
  db = await freshDatabase();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'slices-socle-'));
  const decp = await runSource('marches-publics', { ...quiet, file: path.join(FIX, 'marches-publics', 'decp-global.json') });
  const permis = await runSource('permis-construire', {
    ...quiet,
    file: path.join(FIX, 'permis-construire', 'Liste-des-autorisations-durbanisme-creant-des-logements.2026-08.csv'),
  });
  const gpu = [];
  for (const l of ['municipality', 'document', 'zone_urba'])
    gpu.push(await runSource('urbanisme', { ...quiet, file: path.join(FIX, 'urbanisme', `wfs_du-${l}.json`) }));
  for (const r of [decp, permis, ...gpu]) expect(r.status).toBe('succeeded');
  expect((await buildPacks({ communes: CODES, log: () => undefined })).failed).toBe(0);
  // Nothing republished: every pack skipped unread.
  expect((await buildPacks({ communes: CODES, log: () => undefined })).skipped).toBe(CODES.length);
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await db.cleanup();
});

/** The built communes of a build of CODES (onCommune reports each one's outcome). */
async function rebuilt(): Promise<{ built: string[]; skipped: number; failed: number }> {
  const built: string[] = [];
  const r = await buildPacks({ communes: CODES, log: () => undefined, onCommune: (o) => o.status === 'built' && built.push(o.code) });
  return { built: built.sort(), skipped: r.skipped, failed: r.failed };
}

/** A copy of a fixture with `from` replaced by `to` (which must occur), written under `name` in a fresh folder. */
function republish(src: string, name: string, edits: [string, string][]): string {
  let text = fs.readFileSync(src, 'utf8');
  for (const [from, to] of edits) {
    expect(text).toContain(from);
    text = text.split(from).join(to);
  }
  const dir = fs.mkdtempSync(path.join(tmp, 'r-'));
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}

describe('a republished socle source rebuilds only the packs whose slice changed', () => {
  test('marchés publics: the national file again, one contract of Rennes renamed → Rennes alone', async () => {
    const file = republish(path.join(FIX, 'marches-publics', 'decp-global.json'), 'decp-global.json', [
      ['"Entretien des espaces verts des parcs et jardins"', '"Entretien des espaces verts, des parcs et des jardins"'],
    ]);
    expect(await runSource('marches-publics', { ...quiet, file })).toMatchObject({ status: 'succeeded' });
    const { rows } = await pool().query(`select objet from marche_public where uid = '213502388000132024RE001'`);
    expect(rows[0].objet).toBe('Entretien des espaces verts, des parcs et des jardins');
    expect(await rebuilt()).toEqual({ built: ['35238'], skipped: CODES.length - 1, failed: 0 });
  });

  test("permis de construire: next month's list, one Ajaccio permit's place renamed → Ajaccio alone", async () => {
    const file = republish(
      path.join(FIX, 'permis-construire', 'Liste-des-autorisations-durbanisme-creant-des-logements.2026-08.csv'),
      'Liste-des-autorisations-durbanisme-creant-des-logements.2026-09.csv',
      [['"VIGNOLA"', '"VIGNOLA HAUT"']],
    );
    expect(await runSource('permis-construire', { ...quiet, file })).toMatchObject({ status: 'succeeded', millesime: '2026-09' });
    expect(await rebuilt()).toEqual({ built: ['2A004'], skipped: CODES.length - 1, failed: 0 });
  });

  test('urbanisme: a later answer of the document layer, Baulon’s carte communale approved again → Baulon alone', async () => {
    const file = republish(path.join(FIX, 'urbanisme', 'wfs_du-document.json'), 'wfs_du-document.json', [
      ['35016_CC_20100315', '35016_CC_20250601'],
      ['"timeStamp":"2026-08-14', '"timeStamp":"2026-09-14'],
    ]);
    expect(await runSource('urbanisme', { ...quiet, file })).toMatchObject({ status: 'succeeded' });
    expect(await rebuilt()).toEqual({ built: ['35016'], skipped: CODES.length - 1, failed: 0 });
  });
});
