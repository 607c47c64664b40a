import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { aCommune, deCommune, guessTncc } from '../../src/communes/names';
import { describeRealData, sharedFile } from '../helpers/shared-data';

describe('commune names in a sentence (COG TNCC)', () => {
  test.each([
    ['Rennes', 0, 'de Rennes', 'à Rennes'],
    ['Ajaccio', 1, "d'Ajaccio", 'à Ajaccio'],
    ['Hérouville-Saint-Clair', 1, "d'Hérouville-Saint-Clair", 'à Hérouville-Saint-Clair'],
    ['Hautot-sur-Mer', 0, 'de Hautot-sur-Mer', 'à Hautot-sur-Mer'],
    ['Le Havre', 2, 'du Havre', 'au Havre'],
    ['La Rochelle', 3, 'de La Rochelle', 'à La Rochelle'],
    ['Les Abymes', 4, 'des Abymes', 'aux Abymes'],
    ["L'Haÿ-les-Roses", 5, "de L'Haÿ-les-Roses", "à L'Haÿ-les-Roses"],
    ['Aux Marais', 6, 'des Marais', 'aux Marais'],
    ['Los Masos', 8, 'de Los Masos', 'à Los Masos'],
  ])('%s (TNCC %i) → %s, %s', (nom, tncc, de, a) => {
    expect(deCommune(nom, tncc)).toBe(de);
    expect(aCommune(nom, tncc)).toBe(a);
  });

  test('without a TNCC, or with one that contradicts the name, the article is read from the name', () => {
    expect(guessTncc('Saint-Pierre')).toBe(0);
    expect(guessTncc('Le Havre')).toBe(2);
    expect(deCommune('Le Havre', null)).toBe('du Havre');
    expect(deCommune('Île-de-Batz')).toBe("d'Île-de-Batz");
    // The package renamed 61275 "Merlerault-le-Pin" (TNCC 0) where the COG 2024 had "Le Merlerault" (TNCC 2).
    expect(deCommune('Merlerault-le-Pin', 2)).toBe('de Merlerault-le-Pin');
  });
});

describeRealData('TNCC of the genuine COG 2024 communes table', () => {
  const rows = parse(fs.readFileSync(sharedFile('cog', 'communes.csv')), { columns: true }) as Record<string, string>[];

  test('every name of the table takes the charnière of its TNCC', () => {
    expect(rows.length).toBeGreaterThan(37000);
    const counts = new Map<string, number>();
    for (const r of rows) {
      const de = deCommune(r.LIBELLE, Number(r.TNCC));
      // The charnière replaces the article (du, des) or precedes the name (de, d', de La, de L').
      const expected = {
        '0': `de ${r.LIBELLE}`,
        '1': `d'${r.LIBELLE}`,
        '2': `du ${r.LIBELLE.slice(3)}`,
        '3': `de ${r.LIBELLE}`,
        '4': `des ${r.LIBELLE.slice(4)}`,
        '5': `de ${r.LIBELLE}`,
        '6': `des ${r.LIBELLE.slice(4)}`,
        '7': `de ${r.LIBELLE}`,
        '8': `de ${r.LIBELLE}`,
      }[r.TNCC];
      expect(de).toBe(expected);
      counts.set(r.TNCC, (counts.get(r.TNCC) ?? 0) + 1);
    }
    // About 5,100 names are not "de X": the ones the old page got wrong.
    const notPlainDe = rows.length - (counts.get('0') ?? 0);
    expect(notPlainDe).toBeGreaterThan(5000);
  });

  test('the referential package carries the same TNCC (typeLiaison) for its names', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('@etalab/decoupage-administratif/data/communes.json') as { code: string; nom: string; typeLiaison?: number }[];
    const byName = new Map(rows.map((r) => [`${r.COM}|${r.LIBELLE}`, Number(r.TNCC)]));
    let same = 0;
    for (const c of pkg) {
      const t = byName.get(`${c.code}|${c.nom}`);
      if (t === undefined || c.typeLiaison === undefined) continue;
      expect(c.typeLiaison).toBe(t);
      same++;
    }
    expect(same).toBeGreaterThan(37000);
  });
});
