import fs from 'node:fs';
import path from 'node:path';
import { TableSchema, parseCsv, validateCsv } from '../../src/packs/format';

/** The official scdl/catalogue 0.1.3 Table Schema (test/fixtures/scdl-catalogue/real, see its PROVENANCE.md). */
export const OFFICIAL_CATALOGUE = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'scdl-catalogue', 'real', 'schema.json'), 'utf8'),
) as {
  version: string;
  fields: { name: string; type: TableSchema['fields'][number]['type']; format?: string; constraints?: Record<string, unknown> }[];
  custom_checks: { name: string; params: { column: string } }[];
};

/** The official schema as the packs' validator reads it (same fields, types, constraints). */
const officialSchema: TableSchema = {
  fields: OFFICIAL_CATALOGUE.fields.map((f) => ({
    name: f.name,
    type: f.type,
    title: f.name,
    description: '',
    ...(f.format ? { format: f.format } : {}),
    constraints: f.constraints as TableSchema['fields'][number]['constraints'],
  })),
  missingValues: [''],
};

/** A SIRET's Luhn key (Validata's `french-siret-value` custom check of the schema). */
export function siretKeyOk(siret: string): boolean {
  if (!/^\d{14}$/.test(siret)) return false;
  let sum = 0;
  for (let i = 0; i < 14; i++) {
    let d = Number(siret[13 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Validates a catalogue.csv row by row against the official schema and its custom checks. Returns
 * every error; `line N, COLUMN: …` as the packs' validator words them.
 */
export function validateAgainstOfficial(csv: string): string[] {
  const errors = validateCsv(csv, officialSchema, 10_000);
  const [header, ...rows] = parseCsv(csv);
  for (const check of OFFICIAL_CATALOGUE.custom_checks) {
    const j = header.indexOf(check.params.column);
    rows.forEach((r, i) => {
      if (check.name === 'french-siret-value' && r[j] && !siretKeyOk(r[j]))
        errors.push(`line ${i + 2}, ${check.params.column}: '${r[j]}' fails the SIRET key check`);
    });
  }
  return errors;
}
