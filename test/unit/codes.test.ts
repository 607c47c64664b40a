import {
  communeCode,
  departementOf,
  normalizeCommuneCode,
  normalizeDepartement,
  plmCommune,
  CommuneCodeError,
} from '../../src/communes/codes';

describe('commune codes', () => {
  test('rebuilds split codes with left-padding', () => {
    expect(communeCode('1', '1')).toBe('01001');
    expect(communeCode('069', '123')).toBe('69123'); // DGFiP pads the département to 3
    expect(communeCode('35', '238')).toBe('35238');
  });
  test('keeps the letters of Corsica', () => {
    expect(communeCode('2A', '004')).toBe('2A004');
    expect(communeCode('2b', '33')).toBe('2B033');
    expect(normalizeCommuneCode('2a004')).toBe('2A004');
    expect(departementOf('2A004')).toBe('2A');
  });
  test('overseas départements have 3 characters', () => {
    expect(communeCode('974', '411')).toBe('97411');
    expect(communeCode('974', '11')).toBe('97411');
    expect(communeCode('976', '601')).toBe('97601');
    expect(communeCode('ZD', '411')).toBe('97411');
    expect(departementOf('97411')).toBe('974');
    expect(departementOf('98714')).toBe('987');
    expect(() => communeCode('974', '611')).toThrow(CommuneCodeError);
  });
  test('rejects what is not a code', () => {
    expect(() => normalizeCommuneCode('3523')).not.toThrow(); // leading zero dropped by a spreadsheet
    expect(normalizeCommuneCode('1001')).toBe('01001');
    expect(() => normalizeCommuneCode('2C004')).toThrow(/invalid commune code/);
    expect(() => normalizeDepartement('ABC')).toThrow(/invalid département/);
    expect(() => communeCode('35', 'x1')).toThrow(/invalid commune part/);
  });
  test('rolls PLM arrondissements up', () => {
    expect(plmCommune('75101')).toBe('75056');
    expect(plmCommune('75120')).toBe('75056');
    expect(plmCommune('69381')).toBe('69123');
    expect(plmCommune('13216')).toBe('13055');
    expect(plmCommune('75056')).toBeUndefined();
    expect(plmCommune('13217')).toBeUndefined();
  });
});
