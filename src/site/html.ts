/**
 * HTML by tagged templates: every interpolated value is escaped unless it is itself the result
 * of `html` (or `raw`, for markup made by a trusted renderer such as markdown-it or PostGIS SVG).
 * Arrays are joined, null/undefined/false print nothing. Chosen over a template engine: the pages
 * are a few functions, the compiler checks every value, and there is no template file to load.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

type Value = SafeHtml | string | number | null | undefined | false | Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup produced by a trusted renderer, inserted as is. */
export function raw(s: string): SafeHtml {
  return new SafeHtml(s);
}
