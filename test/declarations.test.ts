import { sourceRegistry } from '../config/sources';
import { readEdition } from '../src/harvest/match';

/**
 * The declarations of every pipeline (pipelines/<id>/source.ts): where each resource comes
 * from, cited; nothing downloaded from a person's repository; the election datasets of issue 11.
 */
const sources = [...sourceRegistry().values()].map((p) => p.source);
const resources = sources.flatMap((s) => s.resources.map((r) => ({ source: s.id, ...r })));

/** GitHub owners that are public bodies (Etalab, data.gouv.fr's team), not persons. */
const PUBLIC_GITHUB_OWNERS = new Set(['etalab', 'datagouv', 'opendatateam']);

describe('source declarations', () => {
  test('every resource cites the page its dataset or URL came from', () => {
    const uncited = resources.filter((r) => !/^https:\/\//.test(r.page));
    expect(uncited.map((r) => `${r.source}/${r.name}`)).toEqual([]);
  });

  test('no declared URL points at a personal repository', () => {
    const personal = resources.flatMap((r) =>
      [r.url, r.page, sources.find((s) => s.id === r.source)!.landingPage]
        .filter((u): u is string => Boolean(u))
        .filter((u) => {
          const { host, pathname } = new URL(u);
          if (host === 'raw.githubusercontent.com' || host.endsWith('.github.io') || host === 'gist.github.com') return true;
          if (host === 'github.com') return !PUBLIC_GITHUB_OWNERS.has(pathname.split('/')[1].toLowerCase());
          return false;
        })
        .map((u) => `${r.source}/${r.name}: ${u}`),
    );
    expect(personal).toEqual([]);
  });

  test('contours come from Etalab « contours administratifs », the COG year in the URL', () => {
    const contours = resources.filter((r) => r.source === 'contours' && r.url);
    expect(contours.map((r) => r.name).sort()).toEqual(['communes', 'departements']);
    for (const r of contours) {
      expect(new URL(r.url!).host).toBe('etalab-datasets.geo.data.gouv.fr');
      expect(readEdition(r.edition, { url: r.url })?.edition).toMatch(/^20\d\d$/);
    }
  });

  test('elections: définitifs datasets, with législatives 2024 T2 and municipales 2020 and 2026 (both rounds) declared', () => {
    const elections = resources.filter((r) => r.source === 'elections');
    const names = elections.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'presidentielle-2022-t1',
        'presidentielle-2022-t2',
        'europeennes-2024',
        'legislatives-2024-t1',
        'legislatives-2024-t2',
        'municipales-2020-t1-1000-et-plus',
        'municipales-2020-t1-moins-1000',
        'municipales-2020-t2-1000-et-plus',
        'municipales-2020-t2-moins-1000',
        'municipales-2026-t1',
        'municipales-2026-t2',
      ]),
    );
    // Présidentielle and législatives: the « résultats définitifs » datasets, never the night-of ones.
    for (const r of elections.filter((x) => /^(presidentielle|legislatives)/.test(x.name)))
      expect([r.name, r.datagouv?.dataset]).toEqual([r.name, expect.stringMatching(/resultats-definitifs-du-(1er|2nd)-tour$/)]);
    // Every election resource is found through the data.gouv.fr API, its URL the fallback.
    for (const r of elections) expect([r.name, Boolean(r.datagouv), new URL(r.url!).host]).toEqual([r.name, true, 'static.data.gouv.fr']);
  });

  test('INSEE Melodi files are declared on the Melodi file endpoint', () => {
    const melodi = resources.filter((r) => /DS_[A-Z_]+/.test(r.mirrorNames[0]) && r.url);
    expect(melodi.map((r) => `${r.source}/${r.name}`).sort()).toEqual(
      ['equipements/bpe-communes', 'etat-civil/deces', 'etat-civil/naissances', 'recensement/ds-population'].sort(),
    );
    for (const r of melodi) expect(r.url).toMatch(/^https:\/\/api\.insee\.fr\/melodi\/file\/(DS_[A-Z_]+)\/\1(_\d{4})?_CSV_FR$/);
  });
});
