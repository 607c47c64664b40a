import type { CommunePageData, SourceStatus } from './commune-data';
import type { MarchesBlock, SocleBlocks } from './socle-data';
import { PAGE_LIMIT } from './socle-data';
import { chart } from './charts';
import { SafeHtml, html } from './html';
import { formatDate, formatInt, formatNumber, millesimeLabel } from './labels';

/**
 * The commune page's blocks of the socle commun sources (issue 14), in plain French. Each block is a
 * section whose id is the source id, so the URL that catalogue.csv gives for a dataset of several
 * files (`/communes/<code>/page#<source>`) lands on it. A source without rows for the commune has no
 * block: it is named, with the reason, under « Non disponible pour votre commune ». Every value goes
 * through the `html` template, which escapes it.
 */
type Cell = SafeHtml | string | null;

/** A DSFR table (caption read by screen readers, scrollable region reachable by keyboard). */
function table(caption: string, head: string[], rows: Cell[][], numeric: number[] = []): SafeHtml {
  return html`<div class="fr-table fr-table--sm fr-table--no-caption">
    <div class="fr-table__wrapper">
      <div class="fr-table__container" tabindex="0" role="region" aria-label="${caption}">
        <div class="fr-table__content">
          <table>
            <caption>
              ${caption}
            </caption>
            <thead>
              <tr>
                ${head.map((h) => html`<th scope="col">${h}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (r) =>
                  html`<tr>
                    ${r.map((c, i) => (numeric.includes(i) ? html`<td class="nombre">${c ?? '—'}</td>` : html`<td>${c ?? '—'}</td>`))}
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  </div>`;
}

const euros = (n: number | null) => (n === null ? null : `${formatNumber(n, 0)} €`);
const day = (iso: string | null) => (iso ? formatDate(iso.slice(0, 10)) : null);

/** « Source : <producer>, <edition> ; licence <title>. » for the block of a source. */
function sourceNote(d: CommunePageData, id: string, extra: string | SafeHtml = ''): SafeHtml {
  const s: SourceStatus | undefined = d.sources.find((x) => x.id === id);
  if (!s) return html``;
  return html`<p class="fr-text--xs fr-mt-1w">
    Source : ${s.producer}${s.millesime ? `, ${millesimeLabel(s.id, s.millesime)}` : ''} ; licence
    <a href="${s.licence.url}" rel="noopener external" target="_blank" title="${s.licence.title} - nouvelle fenêtre">${s.licence.title}</a
    >.${extra ? html` ${extra}` : ''}
  </p>`;
}

/** « 1 association », « 2 associations ». */
const plural = (n: number, one: string, many: string) => `${formatInt(n)} ${n > 1 ? many : one}`;

/** The maire and the municipal council: what a mairie's page shows first. */
export function elusSection(d: CommunePageData): SafeHtml {
  const e = d.socle.elus;
  if (!e) return html``;
  const m = e.maire;
  const person = (x: { prenom: string; nom: string }) => `${x.prenom} ${x.nom}`;
  return html`<section id="elus" class="elus fr-mb-6w" aria-labelledby="elus-titre">
    <h2 id="elus-titre">Le maire et le conseil municipal</h2>
    ${
      m
        ? html`<p class="fr-text--lead fr-mb-2w">
            Maire : <strong>${person(m)}</strong>${m.debutFonction ? `, en fonction depuis le ${day(m.debutFonction)}` : ''}.
          </p>`
        : html`<p>Le Répertoire national des élus n’a pas de maire inscrit pour cette commune à la date de l’extrait.</p>`
    }
    ${
      e.conseillers.length
        ? table(
            `Conseil municipal : ${plural(e.conseillers.length, 'ligne', 'lignes')} (un élu figure une fois par fonction)`,
            ['Nom', 'Prénom', 'Fonction', 'Conseiller depuis le'],
            e.conseillers.map((c) => [c.nom, c.prenom, c.fonction ?? 'Conseiller municipal', day(c.debutMandat)]),
          )
        : html`<p class="fr-text--sm">Le répertoire n’a pas encore de conseiller municipal inscrit pour cette commune.</p>`
    }
    ${sourceNote(
      d,
      'elus',
      'Ce sont des données personnelles, publiées au titre de la transparence de la vie publique : ne les réutilisez pas à d’autres fins que l’information sur les mandats.',
    )}
  </section>`;
}

function associationsBlock(d: CommunePageData): SafeHtml {
  const a = d.socle.associations!;
  const themes = a.themes.filter((t) => t.actives > 0).slice(0, 12);
  return html`<section id="associations" class="fr-mb-6w" aria-labelledby="associations-titre">
    <h3 id="associations-titre">Associations</h3>
    <p>
      Le Répertoire national des associations compte
      <strong>${plural(a.actives + a.dissoutes + a.autres, 'association', 'associations')}</strong> dont le siège est dans la commune :
      ${plural(a.actives, 'active', 'actives')},
      ${plural(a.dissoutes, 'dissoute', 'dissoutes')}${a.autres ? `, ${plural(a.autres, 'supprimée', 'supprimées')} du répertoire` : ''}.
    </p>
    ${
      themes.length
        ? chart({
            id: 'graphique-associations',
            title: 'Associations actives par thème',
            kind: 'barh',
            labelHeader: 'Thème',
            series: [{ name: 'Associations actives', unit: '' }],
            rows: themes.map((t) => ({ label: t.theme ?? 'Thème non renseigné', values: [t.actives] })),
            source: 'ministère de l’Intérieur, Répertoire national des associations (thème : famille du premier objet social déclaré)',
          })
        : ''
    }
    ${sourceNote(d, 'associations', 'La liste des associations est dans associations.csv.')}
  </section>`;
}

const LIENS: Record<string, string> = {
  commune: 'Achat de la commune',
  intercommunalite: 'Achat de l’intercommunalité',
  execution: 'Exécuté dans la commune',
};

function marchesBlock(d: CommunePageData): SafeHtml {
  const m: MarchesBlock = d.socle.marches!;
  const years = [...new Set(m.annees.map((a) => a.annee))].slice(0, 6);
  return html`<section id="marches-publics" class="fr-mb-6w" aria-labelledby="marches-titre">
    <h3 id="marches-titre">Marchés publics</h3>
    <p>
      ${plural(m.total, 'contrat de la commande publique (marché ou concession) est lié', 'contrats de la commande publique (marchés ou concessions) sont liés')}
      à la commune : achetés par la commune, par son intercommunalité, ou exécutés dans la commune. Les montants sont hors taxes, au maximum
      prévu pour un accord-cadre ; un montant non communiqué n’est pas compté.
    </p>
    ${
      years.length
        ? table(
            'Contrats et montants par année de notification',
            ['Année', 'Lien avec la commune', 'Contrats', 'Montant total HT'],
            m.annees
              .filter((a) => years.includes(a.annee))
              .map((a) => [
                String(a.annee),
                LIENS[a.lien] ?? a.lien,
                formatInt(a.nombre),
                a.montant === null
                  ? null
                  : `${euros(a.montant)}${a.sansMontant ? ` (+ ${plural(a.sansMontant, 'sans montant', 'sans montant')})` : ''}`,
              ]),
            [2, 3],
          )
        : ''
    }
    ${
      m.derniers.length
        ? table(
            `Les ${String(m.derniers.length)} contrats les plus récents`,
            ['Date', 'Objet', 'Lien avec la commune', 'Titulaire', 'Montant HT'],
            m.derniers.map((x) => [
              day(x.date),
              `${x.objet ?? ''}${x.type === 'concession' ? ' (concession)' : ''}`,
              LIENS[x.lien] ?? x.lien,
              x.titulaires,
              euros(x.montant),
            ]),
            [4],
          )
        : ''
    }
    ${sourceNote(d, 'marches-publics', 'Tous les contrats sont dans commande_publique.csv.')}
  </section>`;
}

const REGIMES: Record<string, string> = {
  PLU: 'Plan local d’urbanisme (PLU)',
  PLUi: 'Plan local d’urbanisme intercommunal (PLUi)',
  CC: 'Carte communale',
  RNU: 'Règlement national d’urbanisme (RNU) : pas de document d’urbanisme local',
  inconnu: 'Aucun document d’urbanisme en vigueur publié sur le Géoportail de l’urbanisme',
};

function urbanismeBlock(d: CommunePageData): SafeHtml {
  const u = d.socle.urbanisme!;
  const link = u.gpuDocId ? `https://www.geoportail-urbanisme.gouv.fr/document/by-id/${encodeURIComponent(u.gpuDocId)}` : null;
  return html`<section id="urbanisme" class="fr-mb-6w" aria-labelledby="urbanisme-titre">
    <h3 id="urbanisme-titre">Urbanisme</h3>
    <dl class="socle-faits">
      <div>
        <dt>Document applicable</dt>
        <dd>${REGIMES[u.regime] ?? u.regime}</dd>
      </div>
      ${
        u.dateApprobation
          ? html`<div>
              <dt>Approuvé le</dt>
              <dd>${day(u.dateApprobation)}</dd>
            </div>`
          : ''
      }
      ${
        u.document
          ? html`<div>
              <dt>Nom sur le Géoportail</dt>
              <dd>${u.document}</dd>
            </div>`
          : ''
      }
    </dl>
    ${
      link
        ? html`<p>
            <a
              href="${link}"
              rel="noopener external"
              target="_blank"
              title="Voir le document sur le Géoportail de l’urbanisme - nouvelle fenêtre"
              >Voir le document sur le Géoportail de l’urbanisme</a
            >
            (règlement et plans).
          </p>`
        : ''
    }
    <p class="fr-text--sm">
      ${plural(u.documents, 'document publié concerne', 'documents publiés concernent')} la commune (urbanisme_documents.csv). Seul le
      document publié fait foi.
    </p>
    ${sourceNote(d, 'urbanisme')}
  </section>`;
}

function permisBlock(d: CommunePageData): SafeHtml {
  const p = d.socle.permis!;
  const rows = p.annees.slice(-15);
  const last = p.annees.at(-1)!;
  return html`<section id="permis-construire" class="fr-mb-6w" aria-labelledby="permis-titre">
    <h3 id="permis-titre">Permis de construire et logements</h3>
    <p>
      En ${String(last.annee)} : ${plural(last.autorises, 'logement autorisé', 'logements autorisés')} (${formatInt(last.individuels)}
      individuels, ${formatInt(last.collectifs)} collectifs) et ${plural(last.commences, 'logement commencé', 'logements commencés')}. Les
      ouvertures de chantier ne sont pas toujours déclarées : les logements commencés des dernières années sont sous-estimés.
    </p>
    ${chart({
      id: 'graphique-permis',
      title: 'Logements autorisés et commencés par année',
      kind: 'bar',
      labelHeader: 'Année',
      series: [
        { name: 'Logements autorisés', unit: '' },
        { name: 'Logements commencés', unit: '' },
      ],
      rows: rows.map((r) => ({ label: String(r.annee), values: [r.autorises, r.commences] })),
      source: 'SDES, Sitadel (autorisations d’urbanisme créant des logements, dates réelles)',
    })}
    ${sourceNote(d, 'permis-construire', 'Les autorisations récentes sont listées une à une dans permis_construire.csv.')}
  </section>`;
}

function santeBlock(d: CommunePageData): SafeHtml {
  const s = d.socle.sante!;
  const rest = s.nombreEtablissements - s.etablissements.length;
  return html`<section id="sante" class="fr-mb-6w" aria-labelledby="sante-titre">
    <h3 id="sante-titre">Santé</h3>
    ${
      s.professions.length
        ? html`<p>
              Professionnels de santé exerçant dans la
              commune${
                s.generalistes !== null
                  ? html`, dont <strong>${plural(s.generalistes, 'médecin généraliste', 'médecins généralistes')}</strong> (spécialité
                      médecine générale)`
                  : ''
              }
              :
            </p>
            ${table(
              'Professionnels de santé par profession',
              ['Profession', 'Professionnels', 'Dont libéraux'],
              s.professions.map((p) => [p.profession, formatInt(p.professionnels), formatInt(p.liberaux)]),
              [1, 2],
            )}`
        : ''
    }
    ${
      s.nombreEtablissements
        ? html`<p>
              ${plural(
                s.nombreEtablissements,
                'établissement sanitaire, médico-social ou social',
                'établissements sanitaires, médico-sociaux ou sociaux',
              )}
              (hôpitaux, pharmacies, EHPAD, centres de
              santé…)${rest > 0 ? html` ; les ${String(s.etablissements.length)} premiers :` : ' :'}
            </p>
            ${table(
              'Établissements de santé et médico-sociaux',
              ['Nom', 'Catégorie', 'Adresse'],
              s.etablissements.map((e) => [e.nom, e.categorie, e.adresse]),
            )}`
        : ''
    }
    ${sourceNote(
      d,
      'sante',
      'Des nombres de professionnels, jamais leurs noms ; tous les établissements, avec leur position, sont dans etablissements_sante.csv et etablissements_sante.geojson.',
    )}
  </section>`;
}

function educationBlock(d: CommunePageData): SafeHtml {
  const e = d.socle.education!;
  const shown = e.etablissements.slice(0, PAGE_LIMIT.etablissementsScolaires);
  const rentrees = [...new Set(shown.map((x) => x.rentree).filter((r): r is string => r !== null))].sort();
  return html`<section id="education" class="fr-mb-6w" aria-labelledby="education-titre">
    <h3 id="education-titre">Écoles, collèges et lycées</h3>
    <p>
      ${plural(e.etablissements.length, 'établissement scolaire', 'établissements scolaires')} dans la
      commune${shown.length < e.etablissements.length ? ` ; les ${String(shown.length)} premiers :` : ' :'}
    </p>
    ${table(
      'Écoles, collèges et lycées, avec leur indice de position sociale',
      ['Nom', 'Type', 'Statut', 'UAI', 'IPS'],
      shown.map((x) => [
        x.nom,
        x.nature ?? x.type,
        x.statut,
        x.uai,
        x.ips === null ? null : `${formatNumber(x.ips, 1)}${x.rentree ? ` (${x.rentree})` : ''}`,
      ]),
      [4],
    )}
    <p class="fr-text--sm">
      IPS : indice de position sociale des élèves calculé par la DEPP à partir des professions des
      parents${rentrees.length ? ` (rentrée ${rentrees.join(', ')})` : ''} ; plus il est élevé, plus le milieu est favorisé (moyenne
      nationale proche de 100). C’est un indicateur sur un ensemble d’élèves, pas une note de l’établissement ; — : non publié.
    </p>
    ${sourceNote(d, 'education')}
  </section>`;
}

/** The other blocks, under one heading; nothing when the commune has none of these sources. */
export function socleSection(d: CommunePageData): SafeHtml {
  const b: SocleBlocks = d.socle;
  const blocks = [
    b.associations ? associationsBlock(d) : null,
    b.marches ? marchesBlock(d) : null,
    b.urbanisme ? urbanismeBlock(d) : null,
    b.permis ? permisBlock(d) : null,
    b.sante ? santeBlock(d) : null,
    b.education ? educationBlock(d) : null,
  ].filter((x): x is SafeHtml => x !== null);
  if (!blocks.length) return html``;
  return html`<section class="fr-mt-6w" aria-labelledby="vie-locale-titre">
    <h2 id="vie-locale-titre">Vie locale, services et urbanisme</h2>
    ${blocks}
  </section>`;
}
