import { CATALOGUE_SCHEMA, SCDL_CATALOGUE_VERSION, scdlLicence, licenceName } from '../../src/packs/catalogue';
import { PRODUCER_SIRET } from '../../src/packs/producers';
import { OFFICIAL_CATALOGUE, siretKeyOk, validateAgainstOfficial } from '../helpers/scdl';
import { sourceRegistry } from '../../config/sources';

/**
 * catalogue.csv against the official scdl/catalogue schema (test/fixtures/scdl-catalogue/real,
 * schema.data.gouv.fr's copy of 0.1.3). The pack's own Table Schema is the official one field by
 * field; where it relaxes a constraint, the relaxation is listed here and nowhere else.
 */
describe('SCDL catalogue: the pack schema is the official 0.1.3', () => {
  test('same version, same fields in the same order, same types, enums, patterns, minimum and format', () => {
    expect(OFFICIAL_CATALOGUE.version).toBe(SCDL_CATALOGUE_VERSION);
    expect(CATALOGUE_SCHEMA.fields.map((f) => f.name)).toEqual(OFFICIAL_CATALOGUE.fields.map((f) => f.name));
    const relaxed: string[] = [];
    OFFICIAL_CATALOGUE.fields.forEach((o, i) => {
      const ours = CATALOGUE_SCHEMA.fields[i];
      expect([ours.name, ours.type, ours.format]).toEqual([o.name, o.type, o.format]);
      const oc = (o.constraints ?? {}) as Record<string, unknown>;
      const mc = (ours.constraints ?? {}) as Record<string, unknown>;
      for (const k of ['enum', 'pattern', 'minimum']) expect([o.name, k, mc[k]]).toEqual([o.name, k, oc[k]]);
      if (oc.required && !mc.required) relaxed.push(o.name);
    });
    // The mairie's SIRET is in no national file; a producer's SIRET or date that nothing verified is left empty, never invented.
    expect(relaxed).toEqual(['COLL_SIRET', 'PRODUCTEUR_SIRET', 'DATE_PUBL', 'DATE_MAJ']);
  });

  test('every producer SIRET written in the packs passes the official pattern and the SIRET key check', () => {
    const declared = [...sourceRegistry().values()].map((p) => p.pack?.producerSiret).filter((s): s is string => Boolean(s));
    expect(declared.length).toBeGreaterThanOrEqual(8);
    for (const s of [...Object.values(PRODUCER_SIRET), ...declared]) expect([s, siretKeyOk(s)]).toEqual([s, true]);
    expect(siretKeyOk('12002701600564')).toBe(false);
  });

  test('the official validation catches what a catalogue row must not be', () => {
    const header = OFFICIAL_CATALOGUE.fields.map((f) => f.name).join(';');
    const good = [
      'Rennes',
      '21350238800019',
      '35238-populations',
      'Populations légales',
      'Description',
      'Données de référence',
      'INSEE',
      PRODUCER_SIRET.INSEE,
      'Communale',
      'Rennes',
      '2021-01-01',
      '2021-12-31',
      '2023-12-28',
      'Annuelle',
      '2023-12-28',
      'populations',
      'Licence Ouverte-LO',
      '1',
      'csv',
      'https://exemple.fr/communes/35238/fichiers/population.csv',
    ];
    expect(validateAgainstOfficial(`${header}\r\n${good.join(';')}\r\n`)).toEqual([]);
    const bad = [...good];
    bad[1] = '';
    bad[7] = '12002701600564';
    bad[13] = 'Hebdomadaire';
    bad[17] = '0';
    bad[19] = 'communes/35238/pack';
    expect(validateAgainstOfficial(`${header}\r\n${bad.join(';')}\r\n`)).toEqual([
      'line 2, COLL_SIRET: required value missing',
      "line 2, FREQ_MAJ: 'Hebdomadaire' not in " + (OFFICIAL_CATALOGUE.fields[13].constraints!.enum as string[]).join('|'),
      'line 2, NOMBRE_RESSOURCES: 0 is below the minimum 1',
      "line 2, URL: 'communes/35238/pack' is not a URI",
      "line 2, PRODUCTEUR_SIRET: '12002701600564' fails the SIRET key check",
    ]);
  });

  test('one licence name per licence: LISEZMOI title, SCDL LICENCE value and Frictionless name agree', () => {
    const lo = { id: 'lov2', title: 'Licence Ouverte / Open Licence version 2.0' };
    const odbl = { id: 'odc-odbl', title: 'Open Database License (ODbL) 1.0' };
    const ns = { id: 'notspecified', title: 'Non spécifiée par le producteur sur data.gouv.fr (…)' };
    expect([scdlLicence(lo), licenceName(lo)]).toEqual(['Licence Ouverte-LO', 'etalab-2.0']);
    expect([scdlLicence(odbl), licenceName(odbl)]).toEqual(['Open Database License-ODBL', 'ODbL-1.0']);
    expect([scdlLicence(ns), licenceName(ns)]).toEqual(['Spécifique ou autre', 'notspecified']);
  });
});
