import { millesimeLabel } from '../../src/site/labels';

/** Editions as a person reads them on the site: no ISO date or month key reaches the page. */
describe('millesimeLabel', () => {
  test.each([
    ['elus', '2026-04-05', 'édition du 5 avril 2026'],
    ['associations', '2026-10-01', 'édition du 1er octobre 2026'],
    ['permis-construire', '2026-08', 'édition d’août 2026'],
    ['permis-construire', '2026-03', 'édition de mars 2026'],
    ['arcep', '2024_T3', '3e trimestre 2024'],
    ['populations', '2021', 'populations légales 2021 (en vigueur au 1er janvier 2024)'],
    ['budgets', 'ofgl-2023', 'édition ofgl-2023'],
  ])('%s %s → %s', (source, millesime, label) => {
    expect(millesimeLabel(source, millesime)).toBe(label);
  });
});
