import fs from 'node:fs';
import path from 'node:path';
import { freshDatabase } from '../helpers/db';
import { describeRealData, SHARED_DATA } from '../helpers/shared-data';
import { unzip } from '../helpers/zip';
import { validateAgainstOfficial } from '../helpers/scdl';
import { resetSettings, settings } from '../../config/settings';
import { pool } from '../../src/db/pool';
import { runSource } from '../../src/engine/runner';
import { buildPacks } from '../../src/packs/build';
import { readManifest } from '../../src/packs/store';
import { parseCsv } from '../../src/packs/format';
import { scdlLicence } from '../../src/packs/catalogue';
import { source as electionsSource } from '../../pipelines/elections/source';

/**
 * Every commune of ../shared/data (COG, populations légales 2021, contours of four départements,
 * présidentielle 2022 T2 for the Rhône), every pack built, every pack read back:
 *  - commune.json and population.csv give the same population and millésime (or none, with a reason);
 *  - no empty CSV or GeoJSON is shipped, and every source not in a pack is named in its LISEZMOI;
 *  - catalogue.csv, validated row by row against the official scdl/catalogue 0.1.3, fails only where the
 *    pack says it must be completed (COLL_SIRET; DATE_PUBL/DATE_MAJ of a dataset LISEZMOI names);
 *  - each dataset has one licence in LISEZMOI, catalogue.csv and datapackage.json.
 * The commune page (the site) is checked against the same figures where it exists.
 */
describeRealData('packs of every commune of ../shared/data', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let codes: string[];

  beforeAll(async () => {
    db = await freshDatabase({ MIRROR_DIR: SHARED_DATA });
    resetSettings();
    for (const id of ['cog', 'populations', 'contours', 'elections']) {
      const r = await runSource(id, { trigger: 'test', log: () => undefined, force: true });
      expect([id, r.status]).toEqual([id, 'succeeded']);
    }
    const report = await buildPacks({ log: () => undefined, concurrency: 2 });
    expect(report.failed).toBe(0);
    const { rows } = await pool().query(`select code from pack_builds order by code`);
    codes = rows.map((r) => r.code as string);
  }, 1_800_000);
  // 35,000 pack folders to remove: minutes on a loaded machine.
  afterAll(async () => {
    await fs.promises.rm(settings().PACKS_DIR, { recursive: true, force: true });
    await db.cleanup();
  }, 900_000);

  test('every commune actuelle and arrondissement municipal has a pack, and every pack is coherent', async () => {
    const { rows } = await pool().query(
      `select count(*)::int as n from communes where type in ('commune-actuelle', 'arrondissement-municipal')`,
    );
    expect(codes.length).toBe(rows[0].n);
    expect(codes.length).toBeGreaterThan(34_900);

    const problems: string[] = [];
    const seen = { withPopulation: 0, withoutPopulation: 0, catalogueRows: 0, emptyDatePubl: 0, relaxedErrors: 0 };
    const check = async (code: string) => {
      const m = readManifest(settings().PACKS_DIR, code)!;
      const files = await unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
      const text = (n: string) => files.get(n)?.toString('utf8');
      const commune = JSON.parse(text('commune.json')!);
      const md = text('LISEZMOI.md')!;
      if (!files.has('LISEZMOI.html')) problems.push(`${code}: no LISEZMOI.html`);

      // One population, labelled with its millésime, in commune.json and population.csv.
      const pop = text('population.csv');
      if (pop) {
        const [header, ...lines] = parseCsv(pop);
        const last = Object.fromEntries(header.map((h, i) => [h, lines.at(-1)![i]]));
        if (String(commune.population) !== last.population_municipale || commune.populationMillesime !== last.millesime)
          problems.push(
            `${code}: commune.json ${commune.population} (${commune.populationMillesime}) ≠ population.csv ${last.population_municipale} (${last.millesime})`,
          );
        if (last.codes_sources.includes(' ') && (last.population_comptee_a_part || last.population_totale))
          problems.push(`${code}: comptée à part or totale summed over ${last.codes_sources}`);
        seen.withPopulation++;
      } else {
        if (commune.population !== null || !commune.populationAbsente)
          problems.push(`${code}: no population.csv but commune.json says ${commune.population}`);
        if (!md.includes('Populations légales des communes (INSEE) :'))
          problems.push(`${code}: LISEZMOI does not say why populations are missing`);
        seen.withoutPopulation++;
      }

      // No empty file shipped as a dataset; every CSV opens in French Excel (UTF-8 byte order mark first).
      for (const [name, data] of files) {
        if (name.endsWith('.csv') && !data.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])))
          problems.push(`${code}: ${name} has no BOM`);
        if (name.endsWith('.csv') && parseCsv(data.toString('utf8')).length < 2) problems.push(`${code}: ${name} has no row`);
        if (name.endsWith('.geojson') && !(JSON.parse(data.toString('utf8')).features.length > 0))
          problems.push(`${code}: ${name} has no feature`);
      }
      if (!files.has('contour.geojson') && !md.includes('- Contours des communes (')) problems.push(`${code}: no contour and no reason`);
      if (!files.has('elections_resultats.csv') && !md.includes('Résultats des élections par commune ('))
        problems.push(`${code}: no elections and no reason`);

      // catalogue.csv against the official schema, row by row.
      const catalogue = text('catalogue.csv')!;
      const [cheader, ...crows] = parseCsv(catalogue);
      seen.catalogueRows += crows.length;
      const rowOf = (line: number) => Object.fromEntries(cheader.map((h, i) => [h, crows[line - 2][i]]));
      for (const e of validateAgainstOfficial(catalogue)) {
        const m2 = /^line (\d+), (\w+): required value missing$/.exec(e);
        const r = m2 ? rowOf(Number(m2[1])) : null;
        const title = r?.TITRE.split(' : ')[0];
        const said =
          m2 &&
          (m2[2] === 'COLL_SIRET' ||
            (m2[2] === 'PRODUCTEUR_SIRET' && md.includes('Complétez aussi PRODUCTEUR_SIRET pour') && md.includes(r!.PRODUCTEUR_NOM)) ||
            ((m2[2] === 'DATE_PUBL' || m2[2] === 'DATE_MAJ') &&
              md.includes('DATE_PUBL et DATE_MAJ sont vides pour') &&
              md.includes(title!)));
        if (!said) problems.push(`${code}: catalogue.csv ${e}`);
        else seen.relaxedErrors++;
        if (m2?.[2] === 'DATE_PUBL') seen.emptyDatePubl++;
      }

      // One licence per dataset: catalogue.csv, datapackage.json and LISEZMOI agree.
      const dp = JSON.parse(text('datapackage.json')!);
      for (const r of crows.map((_, i) => rowOf(i + 2))) {
        const file = r.URL.includes('/fichiers/') ? r.URL.split('/fichiers/')[1] : null;
        const res = file ? dp.resources.find((x: { path: string }) => x.path === file) : null;
        const lic = res?.licenses?.[0];
        if (file && !lic) problems.push(`${code}: ${file} has no licence in datapackage.json`);
        if (lic && scdlLicence({ id: lic.name, title: lic.title }) !== r.LICENCE)
          problems.push(`${code}: ${file} is ${lic.name} in datapackage.json but ${r.LICENCE} in catalogue.csv`);
        if (lic && !md.includes(`: ${lic.title} (<${lic.path}>)`))
          problems.push(`${code}: LISEZMOI does not give ${file}'s licence ${lic.title}`);
        if (r.FREQ_MAJ.startsWith('Hebdomadaire') && r.ID.endsWith('-elections')) problems.push(`${code}: elections said weekly`);
        if (!/^https?:\/\/.+\/(fichiers\/[^/]+|page#[\w-]+)$/.test(r.URL)) problems.push(`${code}: catalogue URL ${r.URL}`);
      }
    };
    for (let i = 0; i < codes.length; i += 16) await Promise.all(codes.slice(i, i + 16).map(check));
    // Three examples of each kind of problem, so one kind cannot hide the others.
    const kinds = new Map<string, string[]>();
    for (const p of problems) {
      const k = p.replace(/^\w+: /, '').replace(/\d+/g, '#');
      (kinds.get(k) ?? kinds.set(k, []).get(k)!).push(p);
    }
    expect([...kinds.values()].flatMap((v) => v.slice(0, 3))).toEqual([]);
    // The sample has a population for nearly every commune; the rest say why (collectivités d'outre-mer, new communes).
    expect(seen.withPopulation).toBeGreaterThan(34_800);
    expect(seen.catalogueRows).toBeGreaterThan(2 * codes.length);
  }, 1_800_000);

  // The commune page (src/site, landed by the site helper) renders 35,000 pages in ≈ 27 min here (45 ms each):
  // it is checked on 1,500 communes drawn by md5 of their code, every commune without a population, and the
  // communes named in issue 12; commune.json and population.csv are checked for every commune above.
  test('the commune page gives the population and millésime of commune.json (sample, see above)', async () => {
    const { buildServer } = await import('../../src/server/app');
    const app = await buildServer();
    try {
      const { rows } = await pool().query(
        `(select code from pack_builds order by md5(code) limit 1500)
         union select b.code from pack_builds b where not exists (select 1 from population_legale p where p.code_commune = b.code)
         union select unnest(array['35238', '75056', '69123', '13055', '35062', '2A004', '97411', '75112'])`,
      );
      const problems: string[] = [];
      for (const { code } of rows) {
        const m = readManifest(settings().PACKS_DIR, code)!;
        const files = await unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
        const commune = JSON.parse(files.get('commune.json')!.toString('utf8'));
        const page = await app.inject({ method: 'GET', url: `/communes/${code}/page` });
        if (page.statusCode !== 200) {
          problems.push(`${code}: page ${page.statusCode}`);
          continue;
        }
        const card = /chiffres-cles__valeur">([^<]+) habitants<\/span>\s*<span class="fr-text--sm">([^<]+)</.exec(page.body);
        if (commune.population === null) {
          if (card) problems.push(`${code}: the page gives ${card[1]} habitants, commune.json none`);
        } else if (!card) problems.push(`${code}: no population on the page, commune.json ${commune.population}`);
        else {
          if (card[1].replace(/\D/g, '') !== String(commune.population))
            problems.push(`${code}: page ${card[1]} ≠ commune.json ${commune.population}`);
          if (!card[2].includes(`populations légales ${commune.populationMillesime}`))
            problems.push(`${code}: page says "${card[2]}", commune.json millésime ${commune.populationMillesime}`);
        }
      }
      expect(rows.length).toBeGreaterThan(1500);
      expect(problems.slice(0, 10)).toEqual([]);
    } finally {
      await app.close();
    }
  }, 1_800_000);

  // Every commune, not a sample: the page's population figure is populationFigure(populationOf(code))
  // (src/site/commune-page.ts keyFigures; the sampled test above shows the whole page carries that card),
  // rendered here for each commune without the rest of the page, against commune.json (which the first test
  // above checks against population.csv for every commune).
  test("for every commune, the page's population figure gives commune.json's population and vintage", async () => {
    const { populationOf } = await import('../../src/site/commune-data');
    const { populationFigure } = await import('../../src/site/commune-page');
    const problems: string[] = [];
    let withFigure = 0;
    for (const code of codes) {
      const m = readManifest(settings().PACKS_DIR, code)!;
      const files = await unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
      const commune = JSON.parse(files.get('commune.json')!.toString('utf8'));
      const card = /chiffres-cles__valeur">([^<]+) habitants<\/span>\s*<span class="fr-text--sm">([^<]+)</.exec(
        String(populationFigure((await populationOf(code)).current)),
      );
      if (commune.population === null) {
        if (card) problems.push(`${code}: the page gives ${card[1]} habitants, commune.json none`);
        continue;
      }
      if (!card) {
        problems.push(`${code}: no population on the page, commune.json ${commune.population}`);
        continue;
      }
      withFigure++;
      if (card[1].replace(/\D/g, '') !== String(commune.population))
        problems.push(`${code}: page ${card[1]} ≠ commune.json ${commune.population}`);
      if (!card[2].includes(`populations légales ${commune.populationMillesime}`))
        problems.push(`${code}: page says "${card[2]}", commune.json millésime ${commune.populationMillesime}`);
    }
    expect(withFigure).toBeGreaterThan(34_800);
    expect(problems.slice(0, 10)).toEqual([]);
  }, 1_800_000);

  test('Paris, Lyon and a commune nouvelle: INSEE figures summed for the population municipale only, history told', async () => {
    const read = async (code: string) => {
      const m = readManifest(settings().PACKS_DIR, code)!;
      return unzip(path.join(settings().PACKS_DIR, code, m.versions[0].file));
    };
    const paris = await read('75056');
    const commune = JSON.parse(paris.get('commune.json')!.toString('utf8'));
    // 2,133,111 = the sum of the twenty arrondissements' PMUN in donnees_communes.csv (populations.real.test.ts).
    expect([commune.population, commune.populationMillesime]).toEqual([2133111, '2021']);
    const fleurigne = await read('35062');
    const md = fleurigne.get('LISEZMOI.md')!.toString('utf8');
    expect(md).toContain(
      'La Chapelle-Fleurigné est une commune nouvelle créée le 1er janvier 2024 par le regroupement de La Chapelle-Janson (35062) et Fleurigné (35112).',
    );
    expect(JSON.parse(fleurigne.get('commune.json')!.toString('utf8')).historique).toEqual([
      {
        date: '2024-01-01',
        nature: 'création de commune nouvelle',
        communes: [
          { code: '35062', nom: 'La Chapelle-Janson' },
          { code: '35112', nom: 'Fleurigné' },
        ],
      },
    ]);
    const lyon = await read('69123');
    const cat = parseCsv(lyon.get('catalogue.csv')!.toString('utf8'));
    const elections = cat.find((r) => r[2] === '69123-elections')!;
    expect(elections[13]).toBe('Irrégulière');
    // The producer's date: the data.gouv.fr upload stamp (YYYYMMDD-HHMMSS) in the declared URL of the T2 resource.
    const t2 = electionsSource.resources.find((r) => r.name === 'presidentielle-2022-t2')!;
    const stamp = /\/(\d{4})(\d{2})(\d{2})-\d{6}\//.exec(t2.url!)!;
    expect(elections[12]).toBe(`${stamp[1]}-${stamp[2]}-${stamp[3]}`);
    expect(elections[16]).toBe('Spécifique ou autre');
    // LISEZMOI gives that one licence, and no licence of a scrutin that is not loaded (européennes 2024 is not in ../shared/data).
    const lyonMd = lyon.get('LISEZMOI.md')!.toString('utf8');
    expect(lyonMd).toContain('- Licence : Non spécifiée par le producteur sur data.gouv.fr (Élection présidentielle 2022, 2nd tour)');
    expect(lyonMd).not.toMatch(/européennes 2024/i);
    expect(elections[19]).toMatch(/\/communes\/69123\/page#elections$/);
  });
});
