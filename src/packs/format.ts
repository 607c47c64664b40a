import type { FieldType, PackField } from './section';

/**
 * Values come from PostgreSQL as raw text (no type parsing), so numbers keep their precision
 * and dates are never shifted by a time zone. This module turns them into CSV cells.
 */
export function normalizeValue(raw: string | null, type: FieldType): string {
  if (raw === null || raw === undefined) return '';
  switch (type) {
    case 'boolean':
      return raw === 't' ? 'true' : raw === 'f' ? 'false' : raw;
    case 'datetime':
      // '2024-01-02 10:00:00+00' → '2024-01-02T10:00:00+00:00' (RFC 3339)
      return raw.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
    default:
      return raw;
  }
}

/** One CSV cell: quoted when it holds the separator, a quote, CR or LF. */
export function csvCell(v: string): string {
  return /[;"\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The UTF-8 byte order mark every CSV of a pack starts with: French Excel opens a `;` CSV with the
 * right accents on a double-click only when it is there (without it, it reads Windows-1252).
 */
export const CSV_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** UTF-8 CSV, `;` separator, CRLF line ends, header = field names (the BOM is added by the caller). */
export function toCsv(header: string[], rows: string[][]): string {
  let out = header.map(csvCell).join(';') + '\r\n';
  for (const r of rows) out += r.map(csvCell).join(';') + '\r\n';
  return out;
}

/**
 * Parses the CSV written by `toCsv` (and any RFC 4180 `;` file); a leading byte order mark is skipped.
 * Unquoted cells are sliced, not built a character at a time: the packs check the head of every
 * streamed file with it (a few hundred lines a pack).
 */
export function parseCsv(input: string): string[][] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const n = text.length;
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < n) {
    let cell: string;
    if (text.charCodeAt(i) === 34 /* " */) {
      // Quoted: up to the closing quote, "" standing for one quote.
      cell = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          cell += text.slice(i);
          i = n;
          break;
        }
        cell += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          cell += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Anything after the closing quote up to the separator belongs to the cell, as before.
      let k = i;
      while (k < n) {
        const c = text.charCodeAt(k);
        if (c === 59 || c === 10 || (c === 13 && text.charCodeAt(k + 1) === 10)) break;
        k++;
      }
      cell += text.slice(i, k);
      i = k;
    } else {
      let k = i;
      while (k < n) {
        const c = text.charCodeAt(k);
        if (c === 59 /* ; */ || c === 10 || (c === 13 && text.charCodeAt(k + 1) === 10)) break;
        k++;
      }
      cell = text.slice(i, k);
      i = k;
    }
    row.push(cell);
    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === 59) {
      i++;
      if (i >= n) row.push('');
      continue;
    }
    // End of line (LF or CRLF).
    i += c === 13 ? 2 : 1;
    rows.push(row);
    row = [];
  }
  if (row.length) rows.push(row);
  return rows;
}

export interface TableSchema {
  fields: {
    name: string;
    type: FieldType;
    title: string;
    description: string;
    /** Only `uri` is checked (an absolute http(s) URL). */
    format?: string;
    constraints?: { required?: boolean; enum?: string[]; pattern?: string; minimum?: number };
  }[];
  missingValues: string[];
  primaryKey?: string[];
}

/** Schemas by their fields and key: every pack of a build asks for the same few (read-only, shared). */
const schemas = new WeakMap<PackField[], Map<string, TableSchema>>();

/** Frictionless Table Schema (v2) of a pack table (one object per table declaration: do not modify it). */
export function tableSchema(fields: PackField[], primaryKey?: string[]): TableSchema {
  const byKey = schemas.get(fields) ?? schemas.set(fields, new Map()).get(fields)!;
  const k = (primaryKey ?? []).join('\u0000');
  let schema = byKey.get(k);
  if (!schema) byKey.set(k, (schema = buildSchema(fields, primaryKey)));
  return schema;
}

function buildSchema(fields: PackField[], primaryKey?: string[]): TableSchema {
  return {
    fields: fields.map((f) => ({
      name: f.name,
      type: f.type,
      title: f.title,
      description: f.description,
      ...(f.required ? { constraints: { required: true } } : {}),
    })),
    missingValues: [''],
    ...(primaryKey?.length ? { primaryKey } : {}),
  };
}

const CHECKS: Record<FieldType, (v: string) => boolean> = {
  string: () => true,
  integer: (v) => /^[+-]?\d+$/.test(v),
  number: (v) => /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v) || ['NaN', 'INF', '-INF'].includes(v),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)),
  datetime: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(v),
  boolean: (v) => ['true', 'false'].includes(v),
  year: (v) => /^-?\d{4}$/.test(v),
};

/** Compiled field patterns, by their source: every pack validates the same few patterns on many cells. */
const patterns = new Map<string, RegExp>();
const patternOf = (p: string): RegExp => {
  let re = patterns.get(p);
  if (!re) patterns.set(p, (re = new RegExp(`^(?:${p})$`)));
  return re;
};

/**
 * A small Table Schema validator for what the packs use: header = field names in order,
 * types, required, enum, pattern, minimum, format uri, primary key unique. Returns the errors (empty = valid).
 */
export function validateCsv(text: string, schema: TableSchema, maxErrors = 20): string[] {
  const rows = parseCsv(text);
  if (!rows.length) return ['empty file (no header)'];
  const [header, ...data] = rows;
  const names = schema.fields.map((f) => f.name);
  const errors: string[] = [];
  if (header.join(';') !== names.join(';')) errors.push(`header '${header.join(';')}' ≠ schema fields '${names.join(';')}'`);
  return errors.concat(validateRows(data, schema, maxErrors)).slice(0, maxErrors);
}

/** One field's checks, compiled once per schema: the errors of one non-missing value (empty: valid). */
type CellCheck = (v: string, line: number, out: string[]) => void;

function compileField(f: TableSchema['fields'][number]): CellCheck {
  const checks: CellCheck[] = [];
  const typeOk = CHECKS[f.type];
  if (f.type !== 'string') checks.push((v, line, out) => typeOk(v) || out.push(`line ${line}, ${f.name}: '${v}' is not a valid ${f.type}`));
  const c = f.constraints;
  if (c?.enum) {
    const allowed = new Set(c.enum);
    checks.push((v, line, out) => allowed.has(v) || out.push(`line ${line}, ${f.name}: '${v}' not in ${c.enum!.join('|')}`));
  }
  if (c?.pattern) {
    const re = patternOf(c.pattern);
    checks.push((v, line, out) => re.test(v) || out.push(`line ${line}, ${f.name}: '${v}' does not match ${c.pattern}`));
  }
  if (c?.minimum !== undefined) {
    const min = c.minimum;
    checks.push((v, line, out) => !(Number(v) < min) || out.push(`line ${line}, ${f.name}: ${v} is below the minimum ${min}`));
  }
  if (f.format === 'uri')
    checks.push((v, line, out) => /^https?:\/\/[^\s/]+\S*$/.test(v) || out.push(`line ${line}, ${f.name}: '${v}' is not a URI`));
  if (checks.length === 1) return checks[0];
  return (v, line, out) => {
    for (const check of checks) check(v, line, out);
  };
}

interface CompiledSchema {
  names: string[];
  missing: Set<string>;
  required: boolean[];
  checks: (CellCheck | null)[];
  pk: number[];
}
const compiled = new WeakMap<TableSchema, CompiledSchema>();
function compile(schema: TableSchema): CompiledSchema {
  let c = compiled.get(schema);
  if (!c) {
    const names = schema.fields.map((f) => f.name);
    const pk = (schema.primaryKey ?? []).map((k) => names.indexOf(k));
    c = {
      names,
      missing: new Set(schema.missingValues),
      required: schema.fields.map((f) => !!f.constraints?.required),
      checks: schema.fields.map((f) => {
        const check = compileField(f);
        const c = f.constraints;
        // A string field without constraint accepts any value: nothing to run.
        return f.type === 'string' && !c?.enum && !c?.pattern && c?.minimum === undefined && f.format !== 'uri' ? null : check;
      }),
      pk: pk.length && pk.every((k) => k >= 0) ? pk : [],
    };
    compiled.set(schema, c);
  }
  return c;
}

/**
 * The same checks on rows of cells, before they are written as CSV (the header is the schema's by
 * construction): the packs validate a table's cells as rendered, without parsing back the text
 * `toCsv` wrote from them. Line numbers count the header as line 1, as in the file. Each field's
 * checks are compiled once per schema (schemas are shared by every pack of a build).
 */
export function validateRows(data: string[][], schema: TableSchema, maxErrors = 20): string[] {
  const errors: string[] = [];
  const { names, missing, required, checks, pk } = compile(schema);
  const width = names.length;
  const seen = new Set<string>();
  for (let i = 0; i < data.length && errors.length < maxErrors; i++) {
    const r = data[i];
    const line = i + 2;
    if (r.length !== width) {
      errors.push(`line ${line}: ${r.length} cells, expected ${width}`);
      continue;
    }
    for (let j = 0; j < width; j++) {
      const v = r[j];
      if (missing.has(v)) {
        if (required[j]) errors.push(`line ${line}, ${names[j]}: required value missing`);
        continue;
      }
      checks[j]?.(v, line, errors);
    }
    if (pk.length) {
      const key = pk.length === 1 ? r[pk[0]] : pk.map((k) => r[k]).join('\u0000');
      if (seen.has(key)) errors.push(`line ${line}: duplicate primary key ${pk.map((k) => r[k]).join(',')}`);
      seen.add(key);
    }
  }
  return errors.slice(0, maxErrors);
}

/** 'Saint-Étienne-du-Rouvray' → 'saint-etienne-du-rouvray'. */
export function slugify(s: string): string {
  return (
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/œ/g, 'oe')
      .replace(/æ/g, 'ae')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'commune'
  );
}
