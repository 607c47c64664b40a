import { datedUrl } from '../../src/harvest/url-dates';
import { source as atmo } from '../../pipelines/atmo/source';

describe('dated URLs', () => {
  test('{today} and {today-N} are days of Paris', () => {
    // 23:30 UTC on 24 September is already 25 September in Paris.
    const now = new Date('2024-09-24T23:30:00Z');
    expect(datedUrl('https://x.test/a?d={today}', now)).toBe('https://x.test/a?d=2024-09-25');
    expect(datedUrl('https://x.test/a?from={today-1}&to={today}', now)).toBe('https://x.test/a?from=2024-09-24&to=2024-09-25');
    expect(datedUrl('https://x.test/a?d={today-31}', new Date('2024-03-01T10:00:00Z'))).toBe('https://x.test/a?d=2024-01-30');
    expect(datedUrl('https://x.test/plain.csv', now)).toBe('https://x.test/plain.csv');
  });

  test('the ATMO request asks for recent days of the layer, never the whole layer', () => {
    const url = new URL(datedUrl(atmo.resources[0].url!, new Date('2024-09-25T10:00:00Z')));
    expect(url.hostname).toBe('data.atmo-france.org');
    expect(url.searchParams.get('typeNames')).toBe('ind:ind_atmo_2021');
    expect(url.searchParams.get('CQL_FILTER')).toBe("date_ech >= '2024-09-24'");
  });
});
