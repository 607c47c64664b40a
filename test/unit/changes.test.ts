import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { computeChanges } from '../../src/packs/changes';
import type { PackPlan } from '../../src/packs/content';

/** computeChanges on small CSVs: the quoted path (csv-parse) and the plain one, keys, columns, files. */
const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

function plan(primaryKey?: string[]): PackPlan {
  return {
    cog: null,
    sources: [],
    layers: [],
    baseUrl: '',
    tables: [{ file: 't.csv', source: { id: 's' }, table: { name: 't', title: 'T', description: '', fields: [], query: '', primaryKey } }],
  } as unknown as PackPlan;
}

async function diff(before: Record<string, string>, after: Record<string, string>, primaryKey?: string[]) {
  return computeChanges(
    {
      version: '2026.1',
      files: Object.entries(before).map(([name, text]) => ({ name, sha256: sha(text) })),
      open: async (name) => (name in before ? Readable.from([Buffer.from(before[name])]) : null),
    },
    Object.entries(after).map(([name, text]) => ({ name, data: Buffer.from(text), sha256: sha(text) })),
    plan(primaryKey),
    new Map(),
  );
}

describe('computeChanges', () => {
  test('quoted cells (a ; inside, CRLF ends): modified by key, the changed column named with both values', async () => {
    const c = await diff(
      { 't.csv': 'id;nom;n\r\n1;"a;b";1\r\n2;c;2\r\n' },
      { 't.csv': 'id;nom;n\r\n1;"a;b";1\r\n2;"c ""d""";2\r\n3;e;3\r\n' },
      ['id'],
    );
    expect(c.tables).toEqual([
      expect.objectContaining({
        lignesAjoutees: 1,
        lignesRetirees: 0,
        lignesModifiees: 1,
        colonnesModifiees: { nom: 1 },
        exemples: {
          ajoutees: [{ id: '3' }],
          retirees: [],
          modifiees: [{ cle: { id: '2' }, colonnes: { nom: { avant: 'c', apres: 'c "d"' } } }],
        },
      }),
    ]);
    expect(c.resume).toBe('1 ligne de t.csv modifiée (nom), 1 ligne de t.csv ajoutée.');
  });

  test('a column added: named once, rows compared on the columns both versions hold', async () => {
    const c = await diff({ 't.csv': 'id;a\n1;x\n2;y\n' }, { 't.csv': 'id;a;b\n1;x;new\n2;z;new\n' }, ['id']);
    expect(c.tables[0]).toMatchObject({ colonnes: { ajoutees: ['b'], retirees: [] }, lignesModifiees: 1, colonnesModifiees: { a: 1 } });
  });

  test('without a primary key: whole rows, so a change is one removed and one added', async () => {
    const c = await diff({ 't.csv': 'a;b\n1;x\n' }, { 't.csv': 'a;b\n1;y\n' });
    expect(c.tables[0]).toMatchObject({ clePrimaire: null, lignesAjoutees: 1, lignesRetirees: 1, lignesModifiees: 0 });
  });

  test('files: added and removed against the previous list, modified by their bytes, the description files left out', async () => {
    const c = await diff(
      { 't.csv': 'id\n1\n', 'LISEZMOI.md': 'a', 'old.geojson': '{}', 'datapackage.json': '{}' },
      { 't.csv': 'id\n1\n', 'LISEZMOI.md': 'b', 'new.geojson': '{}', 'changes.json': '{}' },
      ['id'],
    );
    expect(c.fichiers).toEqual({ ajoutes: ['new.geojson'], retires: ['old.geojson'], modifies: ['LISEZMOI.md'] });
    expect(c.tables).toEqual([]);
  });
});
