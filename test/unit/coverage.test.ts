import { yearBounds } from '../../src/packs/catalogue';
import { departementSlug } from '../../pipelines/contours/source';

describe('temporal coverage of a millésime (catalogue.csv COUV_TEMP_DEBUT/FIN)', () => {
  test('a year, a quarter, a label holding a year, else the publication day', () => {
    expect(yearBounds('2021')).toEqual(['2021-01-01', '2021-12-31']);
    expect(yearBounds('2024_T3')).toEqual(['2024-07-01', '2024-09-30']);
    expect(yearBounds('2024_T1')).toEqual(['2024-01-01', '2024-03-31']);
    expect(yearBounds('presidentielle-2022-t2')).toEqual(['2022-01-01', '2022-12-31']);
    expect(yearBounds('sans-annee', '2026-11-26')).toEqual(['2026-11-26', '2026-11-26']);
  });
});

describe('france-geojson département slugs (mirror names of per-département contour files)', () => {
  test('accents, apostrophes and spaces', () => {
    expect(departementSlug('Ille-et-Vilaine')).toBe('ille-et-vilaine');
    expect(departementSlug("Côtes-d'Armor")).toBe('cotes-d-armor');
    expect(departementSlug('La Réunion')).toBe('la-reunion');
  });
});
