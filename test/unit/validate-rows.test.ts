import { parseCsv, tableSchema, toCsv, validateCsv, validateRows } from '../../src/packs/format';
import type { PackField } from '../../src/packs/section';

/**
 * The packs validate a batch table's cells as rendered (validateRows) instead of parsing back the
 * CSV written from them (validateCsv): both must find the same errors, with the file's line numbers.
 */
const FIELDS: PackField[] = [
  { name: 'code_commune', type: 'string', title: 'Code', description: 'Code INSEE', required: true },
  { name: 'annee', type: 'year', title: 'Année', description: 'Année' },
  { name: 'nombre', type: 'integer', title: 'Nombre', description: 'Nombre' },
  { name: 'texte', type: 'string', title: 'Texte', description: 'Un texte libre' },
];
const schema = tableSchema(FIELDS, ['code_commune', 'annee']);

test('the same errors on the cells as on the CSV written from them, line numbers counting the header', () => {
  const rows = [
    ['35238', '2024', '12', 'un ; point-virgule'],
    ['35238', '2023', 'douze', 'une "citation"\net un saut de ligne'],
    ['', '2022', '3', ''],
    ['35238', '2024', '4', 'clé en double'],
  ];
  const fromCells = validateRows(rows, schema);
  expect(fromCells).toEqual([
    "line 3, nombre: 'douze' is not a valid integer",
    'line 4, code_commune: required value missing',
    'line 5: duplicate primary key 35238,2024',
  ]);
  const csv = toCsv(
    FIELDS.map((f) => f.name),
    rows,
  );
  expect(validateCsv(csv, schema)).toEqual(fromCells);
  expect(validateRows(rows.slice(0, 1), schema)).toEqual([]);
});

test('at most maxErrors errors, and a row of the wrong width is named', () => {
  const rows = Array.from({ length: 10 }, (_, i) => ['35238', String(2000 + i), 'x', '']);
  expect(validateRows(rows, schema, 3)).toHaveLength(3);
  expect(validateRows([['35238', '2024']], schema)).toEqual(['line 2: 2 cells, expected 4']);
});

test('a schema is built once per table declaration', () => {
  expect(tableSchema(FIELDS, ['code_commune', 'annee'])).toBe(schema);
  expect(tableSchema(FIELDS)).not.toBe(schema);
  expect(tableSchema(FIELDS).primaryKey).toBeUndefined();
});

test('parseCsv reads back what toCsv wrote, whatever the cells hold (quotes, separators, line ends, accents)', () => {
  const alphabet = ['a', 'é', ';', '"', '\n', '\r\n', '\r', ' ', '1', '€'];
  let seed = 42;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let k = 0; k < 300; k++) {
    const width = 1 + rnd(5);
    const header = Array.from({ length: width }, (_, j) => `c${j}`);
    const rows = Array.from({ length: rnd(6) }, () =>
      Array.from({ length: width }, () => Array.from({ length: rnd(7) }, () => alphabet[rnd(alphabet.length)]).join('')),
    );
    expect(parseCsv('\uFEFF' + toCsv(header, rows))).toEqual([header, ...rows]);
  }
  // PostgreSQL's COPY csv: LF line ends, the last line ended too; an unended last line is read as well.
  expect(parseCsv('a;b\n"x;y";"say ""hi"""\n')).toEqual([
    ['a', 'b'],
    ['x;y', 'say "hi"'],
  ]);
  expect(parseCsv('a;\n;b')).toEqual([
    ['a', ''],
    ['', 'b'],
  ]);
});
