import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { freshDatabase } from './helpers/db';
import { unzip } from './helpers/zip';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { settings } from '../config/settings';
import { buildPacks } from '../src/packs/build';
import { pipeline } from '../pipelines/associations';

/**
 * Associations (RNA) on the labelled SYNTHETIC extracts of test/fixtures/associations (waldec and
 * import layouts; genuine import lines are tested in associations-real.test.ts). Three communes are checked
 * against the raw lines, read here with csv-parse/sync, apart from the pipeline's streaming reader.
 */
const DIR = path.join(__dirname, 'fixtures', 'associations');
type Raw = Record<string, string> & { registre: string; fichier: string };

async function rawLines(zip: string, registre: string): Promise<Raw[]> {
  const out: Raw[] = [];
  for (const [name, bytes] of await unzip(path.join(DIR, zip))) {
    const utf8 = !bytes.includes(0xe9) || bytes.toString('utf8').includes('é'); // the Windows-1252 entries hold bare é bytes
    const text = utf8 ? bytes.toString('utf8').replace(/^\uFEFF/, '') : new TextDecoder('windows-1252').decode(bytes);
    const rows = parse(text, { delimiter: ';', columns: true, relax_quotes: true, skip_empty_lines: true }) as Record<string, string>[];
    for (const r of rows) out.push({ ...r, registre, fichier: name });
  }
  return out;
}

let raw: Raw[];
let db: Awaited<ReturnType<typeof freshDatabase>>;
let report: Awaited<ReturnType<typeof runSource>>;
beforeAll(async () => {
  db = await freshDatabase();
  raw = [...(await rawLines('rna_waldec_20261001.zip', 'waldec')), ...(await rawLines('rna_import_20261001.zip', 'import'))];
  // The folder as a mirror: both archives found by their dated names (rna_waldec_*.zip).
  report = await runSource('associations', {
    settings: { ...settings(), MIRROR_DIR: DIR },
    trigger: 'test',
    log: () => undefined,
  });
});
afterAll(async () => db.cleanup());

const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const listOf = async (code: string) => (await pool().query(table('associations').query.replaceAll('$code', `'${code}'`))).rows;

/** The associations of a commune from the raw lines: by code, by unique postcode, one per RNA number (latest maj_time, waldec first). */
function expected(codes: string[], postcodes: string[] = []): Raw[] {
  const mine = raw.filter((r) => codes.includes(r.adrs_codeinsee) || (!r.adrs_codeinsee && postcodes.includes(r.adrs_codepostal)));
  const byId = new Map<string, Raw>();
  for (const r of mine) {
    const k = byId.get(r.id);
    const better = !k || (r.registre === 'waldec' && k.registre === 'import') || (r.registre === k.registre && r.maj_time > k.maj_time);
    if (better) byId.set(r.id, r);
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}
const statut = (p: string) => ({ A: 'active', D: 'dissoute', S: 'supprimée' })[p] ?? p;
const date = (d: string | undefined) => (!d || d.startsWith('0001') || d === '2019-02-30' ? null : d);

describe('associations from the RNA extracts (synthetic, documented layouts)', () => {
  test('both archives are found in the mirror by their dated names; the edition is the date in the name; rows add up', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.millesime).toBe('2026-10-01');
    expect(report.read).toBe(raw.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    const { rows } = await pool().query(`select details from published_datasets where source = 'associations'`);
    expect(rows[0].details.editions).toEqual({
      waldec: { edition: '2026-10-01', from: 'name', fichier: 'rna_waldec_20261001.zip' },
      import: { edition: '2026-10-01', from: 'name', fichier: 'rna_import_20261001.zip' },
    });
  });

  test('what cannot be placed is quarantined with its reason, and nothing else', async () => {
    const { rows } = await pool().query(`select file, line, reason from quarantine where run_id = $1 order by file, line`, [report.runId]);
    expect(rows.map((r) => r.reason)).toEqual([
      'column adrs_codeinsee: empty, and postcode 35190 is shared by 13 communes',
      'column adrs_codeinsee: code 99999 is neither a commune of COG 1943 nor in its history',
      expect.stringMatching(/^column id: RNA number W751000002 again; the line kept is .*_dpt_75\.csv line 5 \(latest maj_time\)$/),
    ]);
  });

  test('three communes equal their raw lines: Bourg-en-Bresse (01053), Rennes (35238, both files, a siège placed by its postcode), Paris 14e (75114)', async () => {
    for (const [code, codes, postcodes] of [
      ['01053', ['01053'], []],
      ['35238', ['35238'], ['35000']],
      ['75114', ['75114'], []],
    ] as [string, string[], string[]][]) {
      const want = expected(codes, postcodes).map((r) => ({
        numero_rna: r.id,
        nom: r.titre,
        objet: r.objet || null,
        code_theme: r.objet_social1 || null,
        statut: statut(r.position),
        date_creation: date(r.date_creat),
        date_dissolution: date(r.date_disso),
        code_postal: r.adrs_codepostal || null,
        registre: r.registre,
      }));
      const got = (await listOf(code)).map((r) => ({
        numero_rna: r.numero_rna,
        nom: r.nom,
        objet: r.objet,
        code_theme: r.code_theme,
        statut: r.statut,
        date_creation: r.date_creation,
        date_dissolution: r.date_dissolution,
        code_postal: r.code_postal,
        registre: r.registre,
      }));
      expect({ code, got }).toEqual({ code, got: want });

      // Counts by family of the first social object, from the same raw lines.
      const counts = new Map<string, { actives: number; dissoutes: number; autres: number }>();
      for (const r of expected(codes, postcodes)) {
        const fam = /^\d{6}$/.test(r.objet_social1) && r.objet_social1 !== '000000' ? `${r.objet_social1.slice(0, 3)}000` : '000000';
        const c = counts.get(fam) ?? { actives: 0, dissoutes: 0, autres: 0 };
        if (r.position === 'A') c.actives++;
        else if (r.position === 'D') c.dissoutes++;
        else c.autres++;
        counts.set(fam, c);
      }
      const themes = (await pool().query(table('associations_themes').query, [[code]])).rows;
      expect(themes.map((t) => [t.code_theme, { actives: t.actives, dissoutes: t.dissoutes, autres: t.autres }])).toEqual(
        [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0])),
      );
      const [n] = (await pool().query(table('associations_nombre').query, [[code]])).rows;
      expect(n.total).toBe(expected(codes, postcodes).length);
    }
  });

  test('themes carry the labels of the nomenclature; an association without one is « Thème non renseigné »', async () => {
    const themes = (await pool().query(table('associations_themes').query, [['01053']])).rows;
    expect(themes.map((t) => [t.code_theme, t.theme])).toEqual([
      ['000000', 'Thème non renseigné'],
      ['006000', 'culture, pratiques d’activités artistiques, culturelles'],
      ['007000', 'clubs de loisirs, relations'],
      ['011000', 'Sports, activités de plein air'],
    ]);
  });

  test('old codes go to today’s commune; Paris holds its arrondissements’ associations and its own', async () => {
    expect((await listOf('01033')).map((r) => [r.numero_rna, r.code_insee_siege])).toEqual([['W011000005', '01091']]);
    expect((await listOf('35062')).map((r) => [r.numero_rna, r.code_insee_siege])).toEqual([['W352000003', '35112']]);
    expect((await listOf('75056')).map((r) => r.numero_rna)).toEqual(['W751000001', 'W751000002', 'W751000003']);
    const [latest] = (await listOf('75114')).filter((r) => r.numero_rna === 'W751000002');
    expect(latest.nom).toBe('NOUVEAU NOM');
  });

  test('stray quotes, a quoted « ; », Windows-1252 and a byte-order mark are read as text', async () => {
    const rennes = await listOf('35238');
    expect(rennes.map((r) => r.nom)).toEqual(
      expect.arrayContaining(['LES "AMIS" DU THABOR', 'CERCLE DES ÉCHECS; RENNES', 'SOCIÉTÉ DE CHASSE', 'AMICALE LAÏQUE']),
    );
    expect((await listOf('01053'))[0]).toMatchObject({ numero_rna: 'W011000001', adresse: '12 RUE DES LILAS' });
  });

  test('a new monthly edition of one département rebuilds only the packs whose associations changed', async () => {
    await buildPacks({ communes: ['01053', '35238'], log: () => undefined });
    // The Ain file of the next month alone (its département only is replaced): same lines but one.
    const entries = await unzip(path.join(DIR, 'rna_waldec_20261001.zip'));
    const ain = entries
      .get('rna_waldec_20261001_dpt_01.csv')!
      .toString('utf8')
      .replace('AMICALE DES BOULISTES DE BOURG', 'AMICALE BOULISTE DE BOURG');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rna-'));
    const file = path.join(dir, 'rna_waldec_20261101_dpt_01.csv');
    fs.writeFileSync(file, ain);
    const next = await runSource('associations', { file, trigger: 'test', log: () => undefined }); // recognised by its name
    expect(next.millesime).toBe('2026-11-01');
    expect((await listOf('01053')).find((r) => r.numero_rna === 'W011000001').nom).toBe('AMICALE BOULISTE DE BOURG');
    expect((await listOf('35238')).length).toBe(5); // the other départements are as they were
    const rebuilt = await buildPacks({ communes: ['01053', '35238'], log: () => undefined });
    expect([rebuilt.built, rebuilt.unchanged]).toEqual([1, 1]);
  });
});
