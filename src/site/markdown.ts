import MarkdownIt from 'markdown-it';
import { SafeHtml, raw } from './html';

/**
 * LISEZMOI.md as HTML, by markdown-it (CommonMark, well kept) with raw HTML disabled, so any
 * markup in the text is escaped. Headings move down under the page's own (h1 → h3), tables get
 * the DSFR table wrapper, links outside the site open with rel="noopener".
 */
const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

md.renderer.rules.heading_open = (tokens, idx) => {
  const level = Math.min(6, Number(tokens[idx].tag.slice(1)) + 2);
  return `<h${level}>`;
};
md.renderer.rules.heading_close = (tokens, idx) => {
  const level = Math.min(6, Number(tokens[idx].tag.slice(1)) + 2);
  return `</h${level}>\n`;
};
// A wide table scrolls: its container takes the focus so a keyboard can scroll it (axe: scrollable-region-focusable).
md.renderer.rules.table_open = () =>
  '<div class="fr-table fr-table--sm"><div class="fr-table__wrapper"><div class="fr-table__container" tabindex="0" role="region" aria-label="Tableau du LISEZMOI"><div class="fr-table__content"><table>\n';
md.renderer.rules.table_close = () => '</table></div></div></div></div>\n';
type Rule = NonNullable<typeof md.renderer.rules.link_open>;
const defaultLink: Rule = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const href = String(tokens[idx].attrGet('href') ?? '');
  if (/^https?:/i.test(href)) {
    tokens[idx].attrSet('rel', 'noopener external');
  }
  return defaultLink(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): SafeHtml {
  return raw(md.render(text));
}
