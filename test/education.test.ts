import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './helpers/db';
import { pool } from '../src/db/pool';
import { runSource } from '../src/engine/runner';
import { buildPacks } from '../src/packs/build';
import { pipeline } from '../pipelines/education';

/**
 * Education on GENUINE bytes (test/fixtures/education/real, PROVENANCE.md): the annuaire de
 * l'éducation in its 2026 layout (Val-de-Marne schools) and its June 2023 layout (Ille-et-Vilaine,
 * with 35062 and 35112 merged on 2024-01-01), and the three IPS files of rentrée 2022-2023.
 * Expected values come from the raw lines, split here by hand (the files have no quotes).
 */
const REAL = path.join(__dirname, 'fixtures', 'education', 'real');
const ANNUAIRE_2026 = path.join(REAL, 'fr-en-annuaire-education.csv');
const ANNUAIRE_2023 = path.join(REAL, '2023-06-ille-et-vilaine', 'fr-en-annuaire-education.csv');
const IPS = (n: string) => path.join(REAL, `fr-en-ips-${n}-ap2022.csv`);

/** A raw file as records keyed by header name (BOM and CRLF removed, `;` split). */
function rawRecords(file: string): Record<string, string>[] {
  const [header, ...lines] = fs
    .readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter(Boolean);
  const names = header.split(';');
  return lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [names[i], v])));
}
const table = (name: string) => pipeline.pack!.tables.find((t) => t.name === name)!;
const run = (file: string, extra: Record<string, unknown> = {}) =>
  runSource('education', { file, trigger: 'test', log: () => undefined, ...extra });

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db.cleanup());

describe('annuaire de l’éducation, 2026 layout (genuine Val-de-Marne lines)', () => {
  const raw = rawRecords(ANNUAIRE_2026);
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    report = await run(ANNUAIRE_2026);
  });

  test('every line accounted for; the edition is the latest date_maj_ligne of the file', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(raw.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    expect(report.rejected).toBe(0);
    expect(report.millesime).toBe(
      raw
        .map((r) => r.date_maj_ligne)
        .sort()
        .at(-1),
    );
  });

  test('three communes (Fresnes, Créteil, Vitry-sur-Seine) equal their raw lines: UAI, name, status, point', async () => {
    for (const code of ['94034', '94028', '94081']) {
      const want = raw
        .filter((r) => r.Code_commune === code)
        .map((r) => [
          r.Identifiant_de_l_etablissement,
          r.Nom_etablissement,
          r.Statut_public_prive,
          r.etat,
          Number(r.latitude),
          Number(r.longitude),
        ])
        .sort();
      expect(want.length).toBeGreaterThan(0);
      const { rows } = await pool().query(table('etablissements_scolaires').query, [[code]]);
      const got = rows.map((r) => [r.uai, r.nom, r.statut, r.etat, Number(r.latitude), Number(r.longitude)]).sort();
      // Six decimals in the pack (about 10 cm): compare at that precision.
      const round = (rs: unknown[][]) => rs.map((r) => [...r.slice(0, 4), ...(r.slice(4) as number[]).map((v) => Math.round(v * 1e6))]);
      expect(round(got)).toEqual(round(want));
    }
  });

  test('the GeoJSON layer places each school at its latitude/longitude', async () => {
    const layer = pipeline.pack!.layers![0];
    const { rows } = await pool().query(layer.query, [['94034']]);
    const fresnes = raw.filter((r) => r.Code_commune === '94034');
    expect(rows).toHaveLength(fresnes.length);
    for (const r of rows) {
      const src = fresnes.find((f) => f.Identifiant_de_l_etablissement === r.properties.uai)!;
      const [lon, lat] = JSON.parse(r.geometry).coordinates;
      expect([lon, lat]).toEqual([Number(Number(src.longitude).toFixed(6)), Number(Number(src.latitude).toFixed(6))]);
    }
  });
});

describe('IPS, rentrée 2022-2023 (genuine national lines)', () => {
  const raw = ['ecoles', 'colleges', 'lycees'].flatMap((n) => rawRecords(IPS(n)).map((r): Record<string, string> => ({ ...r, niveau: n })));
  const reports: Awaited<ReturnType<typeof runSource>>[] = [];
  beforeAll(async () => {
    for (const n of ['ecoles', 'colleges', 'lycees']) reports.push(await run(IPS(n)));
  });

  test('each file loads alone; rows add up; the annuaire’s edition stays the source’s, each file keeps its rentrée', async () => {
    for (const r of reports) {
      expect(r.status).toBe('succeeded');
      expect(r.read).toBe(r.loaded + r.rejected);
      expect(r.rejected).toBe(0);
      expect(r.millesime).toBe(
        rawRecords(ANNUAIRE_2026)
          .map((x) => x.date_maj_ligne)
          .sort()
          .at(-1),
      );
    }
    expect(reports.reduce((s, r) => s + r.read, 0)).toBe(raw.length);
    const { rows } = await pool().query(`select details from published_datasets where source = 'education'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].details.editions['ips-colleges']).toEqual({
      edition: 'rentree-2022',
      from: 'content (rentree_scolaire)',
      fichier: 'fr-en-ips-colleges-ap2022.csv',
    });
    expect(rows[0].details.editions.annuaire.fichier).toBe('fr-en-annuaire-education.csv');
  });

  test('three communes (Paris 11e, Ajaccio, Mamoudzou) equal their raw lines', async () => {
    for (const code of ['75111', '2A004', '97611']) {
      const lines = raw.filter((r) => r.code_insee_de_la_commune === code);
      expect(lines.length).toBeGreaterThan(0);
      const want = lines
        .map((r) => [
          r.uai,
          r.niveau.replace(/s$/, ''),
          r.secteur,
          Number(r.ips ?? r.ips_ensemble_gt_pro),
          Number(r.effectifs ?? r.effectifs_ensemble_gt_pro),
        ])
        .sort();
      const { rows } = await pool().query(table('ips_etablissements_scolaires').query, [[code]]);
      const unaccent = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      const got = rows.map((r) => [r.uai, unaccent(r.niveau), r.secteur, Number(r.ips), Number(r.effectifs)]).sort();
      expect({ code, got }).toEqual({ code, got: want });
      expect(rows.every((r) => r.rentree === '2022-2023')).toBe(true);
    }
  });

  test('Paris, Lyon and Marseille: the city holds every line of its arrondissements (the files give no 75056/69123/13055)', async () => {
    for (const [city, prefix] of [
      ['75056', '751'],
      ['69123', '6938'],
      ['13055', '132'],
    ]) {
      expect(raw.some((r) => r.code_insee_de_la_commune === city)).toBe(false);
      const want = raw.filter((r) => r.code_insee_de_la_commune.startsWith(prefix)).map((r) => r.uai);
      const { rows } = await pool().query(table('ips_etablissements_scolaires').query, [[city]]);
      expect(rows.map((r) => r.uai).sort()).toEqual(want.sort());
    }
  });

  test('lycées: the IPS is the one of all ways (ips_ensemble_gt_pro), with the GT and PRO ones beside it', async () => {
    const lycee = raw.find((r) => r.niveau === 'lycees' && r.ips_voie_pro && r.ips_voie_gt)!;
    const { rows } = await pool().query(table('ips_etablissements_scolaires').query, [[lycee.code_insee_de_la_commune]]);
    const got = rows.find((r) => r.uai === lycee.uai)!;
    expect([Number(got.ips), Number(got.ips_voie_gt), Number(got.ips_voie_pro), got.type_lycee]).toEqual([
      Number(lycee.ips_ensemble_gt_pro),
      Number(lycee.ips_voie_gt),
      Number(lycee.ips_voie_pro),
      lycee.type_de_lycee,
    ]);
  });

  test('a republished IPS file changing one commune rebuilds only the packs whose slice changed', async () => {
    const codes = ['75111', '75056', '2A004', '97611', '01053'];
    const first = await buildPacks({ communes: codes, log: () => undefined });
    expect(first.failed).toBe(0);
    const again = await buildPacks({ communes: codes, log: () => undefined });
    expect(again.skipped).toBe(codes.length);
    // The same écoles file, one Ajaccio line's IPS changed (a correction by the DEPP).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'education-ips-'));
    const copy = path.join(dir, 'fr-en-ips-ecoles-ap2022.csv');
    const text = fs.readFileSync(IPS('ecoles'), 'utf8');
    const line = text.split('\r\n').find((l) => l.split(';')[6] === '2A004')!;
    const changed = line.replace(/;[0-9.]+$/, ';101.5');
    expect(changed).not.toBe(line);
    fs.writeFileSync(copy, text.replace(line, changed));
    const r = await run(copy);
    expect(r.status).toBe('succeeded');
    const after = await buildPacks({ communes: codes, log: () => undefined });
    expect(after.failed).toBe(0);
    expect(after.built).toBe(1);
    expect(after.skipped).toBe(codes.length - 1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('annuaire de l’éducation, June 2023 layout (genuine Ille-et-Vilaine lines, commune merged since)', () => {
  const raw = rawRecords(ANNUAIRE_2023);
  let report: Awaited<ReturnType<typeof runSource>>;
  beforeAll(async () => {
    // A fresh publication: the 2026 extract above is newer and an older one is refused (next test).
    await pool().query(`delete from published_datasets where source = 'education'`);
    await pool().query(`delete from education_ips`);
    report = await run(ANNUAIRE_2023);
  });

  test('the 2023 header (Code postal, coordonnee_X, epsg) is read by name; every line accounted for', async () => {
    expect(report.status).toBe('succeeded');
    expect(report.read).toBe(raw.length);
    expect(report.read).toBe(report.loaded + report.rejected);
    expect(report.millesime).toBe('2023-06-08');
    const { rows } = await pool().query(`select details from published_datasets where source = 'education'`);
    const schools = new Set(['Ecole', 'Collège', 'Lycée', 'EREA']);
    const left = raw.filter((r) => !schools.has(r.Type_etablissement));
    expect(Object.values(rows[0].details.hors_champ as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(left.length);
    expect(rows[0].details.cog).toBe(2023);
  });

  test('35062 La Chapelle-Fleurigné holds the schools of 35062 and of 35112 Fleurigné (merged on 2024-01-01), each with its code in the file', async () => {
    const want = raw
      .filter((r) => ['35062', '35112'].includes(r.Code_commune) && ['Ecole', 'Collège', 'Lycée', 'EREA'].includes(r.Type_etablissement))
      .map((r) => [r.Identifiant_de_l_etablissement, r.Code_commune, r['Code postal']])
      .sort();
    expect(new Set(want.map((w) => w[1]))).toEqual(new Set(['35062', '35112']));
    const { rows } = await pool().query(table('etablissements_scolaires').query, [['35062', '35112']]);
    expect(rows.every((r) => r.code_commune === '35062')).toBe(true);
    expect(rows.map((r) => [r.uai, r.code_commune_fichier, r.code_postal]).sort()).toEqual(want);
  });

  test('Rennes and Baulon: schools, collèges, lycées and EREA kept, services left out', async () => {
    for (const code of ['35238', '35016']) {
      const want = raw
        .filter((r) => r.Code_commune === code && ['Ecole', 'Collège', 'Lycée', 'EREA'].includes(r.Type_etablissement))
        .map((r) => [r.Identifiant_de_l_etablissement, r.Type_etablissement, r.Statut_public_prive])
        .sort();
      const { rows } = await pool().query(table('etablissements_scolaires').query, [[code]]);
      expect(rows.map((r) => [r.uai, r.type_etablissement, r.statut]).sort()).toEqual(want);
    }
  });

  test('an older extract than the published one is refused and changes nothing', async () => {
    const before = (await pool().query(`select count(*)::int as n from education_etablissement`)).rows[0].n;
    await expect(run(ANNUAIRE_2023, { millesime: '2023-01-02', force: true })).rejects.toThrow(/older than the one published \(2023-06-08/);
    expect((await pool().query(`select count(*)::int as n from education_etablissement`)).rows[0].n).toBe(before);
  });
});
