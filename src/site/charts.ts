import { SafeHtml, html } from './html';
import { formatNumber } from './labels';
import type { MapShape } from './commune-data';

/**
 * Charts, progressively enhanced: the server writes a figure holding a plain data table (readable
 * without JavaScript, by screen readers, and printable); assets/site.js reads the table and draws
 * it with Chart.js above it, keeping the table one click away. `data-valeur` carries the raw number
 * so the script never parses French-formatted text.
 */
export interface ChartSpec {
  id: string;
  title: string;
  kind: 'line' | 'bar' | 'barh';
  /** Header of the label column ("Année", "Candidat"). */
  labelHeader: string;
  series: { name: string; unit: string; digits?: number }[];
  rows: { label: string; values: (number | null)[] }[];
  source: string;
}

export function chart(c: ChartSpec): SafeHtml {
  return html`<figure class="graphique fr-mb-6w" id="${c.id}" data-graphique="${c.kind}" aria-labelledby="${c.id}-titre">
    <figcaption id="${c.id}-titre" class="fr-h5 fr-mb-2w">${c.title}</figcaption>
    <div class="graphique__tableau fr-table fr-table--sm fr-table--no-caption">
      <div class="fr-table__wrapper">
        <div class="fr-table__container" tabindex="0" role="region" aria-label="Données : ${c.title}">
          <div class="fr-table__content">
            <table>
              <caption>
                ${c.title}
              </caption>
              <thead>
                <tr>
                  <th scope="col">${c.labelHeader}</th>
                  ${c.series.map((s) => html`<th scope="col" data-unite="${s.unit}">${s.name}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${c.rows.map(
                  (r) =>
                    html`<tr>
                      <th scope="row">${r.label}</th>
                      ${r.values.map((v, i) =>
                        v === null
                          ? html`<td>—</td>`
                          : html`<td data-valeur="${String(v)}">
                              ${formatNumber(v, c.series[i].digits ?? 0)}${c.series[i].unit ? ` ${c.series[i].unit}` : ''}
                            </td>`,
                      )}
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>
        </div>
      </div>
    </div>
    <p class="fr-text--xs fr-mt-1w fr-mb-0">Source : ${c.source}</p>
  </figure>`;
}

/** The commune's contour, drawn server-side as SVG paths from PostGIS (no map tiles, no script). */
export function mapSvg(m: MapShape, nom: string): SafeHtml {
  return html`<svg
    class="carte"
    viewBox="${m.viewBox}"
    role="img"
    aria-labelledby="carte-titre"
    preserveAspectRatio="xMidYMid meet"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="carte-titre">Contour de ${nom}${m.neighbours.length ? ` et des ${m.neighbours.length} communes voisines` : ''}</title>
    ${m.neighbours.map((n) => html`<path class="carte__voisine" d="${n.path}" stroke-width="${String(m.strokeWidth)}" />`)}
    <path class="carte__commune" d="${m.commune}" stroke-width="${String(m.strokeWidth * 2)}" />
  </svg>`;
}
