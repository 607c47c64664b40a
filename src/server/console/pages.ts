import type { ResourceCheck } from '../../harvest/check';
import type { TargetStatus } from '../../publish/publish';
import { assets } from '../../site/assets';
import { SafeHtml, html } from '../../site/html';
import { formatBytes, formatInt } from '../../site/labels';
import { page } from '../../site/layout';
import { CONSOLE } from './paths';
import type { DepartementBuild, FailedCommune, QuarantineRow, Run, RunFile, RunStatus, SourceOverview, WaitingJob } from './data';
import { PER_PAGE, RUN_STATUSES } from './data';

/**
 * The pages of the operator console, in French, in the public site's DSFR page shell
 * (src/site/layout.ts): server-rendered, usable without JavaScript; one small local script
 * (assets/console.js) refreshes the progress of running runs. Every value goes through the
 * escaping `html` template.
 */

// ---------------------------------------------------------------- formatting

const dateFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'medium' });
const slotFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'full', timeStyle: 'short' });

function when(d: Date | null | undefined, fmt = dateFmt): SafeHtml | string {
  return d ? html`<time datetime="${d.toISOString()}">${fmt.format(d)}</time>` : '—';
}

/** "2 h 05 min", "3 min 12 s", "8 s". */
export function duration(from: Date, to: Date | null): string {
  const s = Math.max(0, Math.round(((to ?? new Date()).getTime() - from.getTime()) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const STATUS: Record<RunStatus, { label: string; badge: string }> = {
  queued: { label: 'En file d’attente', badge: 'info' },
  running: { label: 'En cours', badge: 'new' },
  succeeded: { label: 'Réussi', badge: 'success' },
  unchanged: { label: 'Inchangé', badge: 'info' },
  failed: { label: 'Échoué', badge: 'error' },
  interrupted: { label: 'Interrompu', badge: 'warning' },
  refused: { label: 'Refusé', badge: 'warning' },
};
export const statusLabel = (s: RunStatus) => STATUS[s]?.label ?? s;

function badge(s: RunStatus): SafeHtml {
  const st = STATUS[s] ?? { label: s, badge: 'info' };
  return html`<span class="fr-badge fr-badge--sm fr-badge--no-icon fr-badge--${st.badge}">${st.label}</span>`;
}

const TRIGGERS: Record<string, string> = {
  cli: 'ligne de commande',
  worker: 'file d’attente',
  schedule: 'planification',
  start: 'démarrage',
  api: 'API',
  test: 'test',
};

const CHECK: Record<string, { label: string; badge: string }> = {
  ok: { label: 'À jour', badge: 'success' },
  'new-edition': { label: 'Nouvelle édition', badge: 'new' },
  moved: { label: 'Déplacée', badge: 'warning' },
  missing: { label: 'Introuvable', badge: 'error' },
  'no-match': { label: 'Aucune ressource ne correspond', badge: 'error' },
  unreachable: { label: 'Injoignable', badge: 'error' },
  'mirror-only': { label: 'Copie locale seulement', badge: 'info' },
};

function table(opts: {
  caption: string;
  head: (string | SafeHtml)[];
  rows: SafeHtml[];
  id?: string;
  attrs?: SafeHtml;
  empty?: string;
}): SafeHtml {
  return html`<div class="fr-table" ${opts.id ? html`id="${opts.id}"` : ''} ${opts.attrs ?? ''}>
    <div class="fr-table__wrapper">
      <div class="fr-table__container" tabindex="0" role="region" aria-label="${opts.caption}">
        <div class="fr-table__content">
          <table>
            <caption>
              ${opts.caption}
            </caption>
            <thead>
              <tr>
                ${opts.head.map((h) => html`<th scope="col">${h}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${
                opts.rows.length
                  ? opts.rows
                  : html`<tr>
                      <td colspan="${opts.head.length}">${opts.empty ?? 'Aucune ligne.'}</td>
                    </tr>`
              }
            </tbody>
          </table>
        </div>
      </div>
    </div>
  </div>`;
}

function alert(kind: 'success' | 'error' | 'info' | 'warning', title: string, text?: string | SafeHtml): SafeHtml {
  return html`<div class="fr-alert fr-alert--${kind} fr-mb-4w" ${kind === 'error' ? html`role="alert"` : ''}>
    <h2 class="fr-alert__title">${title}</h2>
    ${text ? html`<p>${text}</p>` : ''}
  </div>`;
}

/** DSFR pagination: first, previous, a window of pages, next, last. */
function pagination(href: (p: number) => string, current: number, total: number): SafeHtml | string {
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  if (pages <= 1) return '';
  const link = (p: number, label: string, cls: string, disabled: boolean) =>
    disabled
      ? html`<li><a class="fr-pagination__link ${cls}" aria-disabled="true" role="link">${label}</a></li>`
      : html`<li><a class="fr-pagination__link ${cls}" href="${href(p)}">${label}</a></li>`;
  const from = Math.max(1, current - 2);
  const to = Math.min(pages, current + 2);
  const around: SafeHtml[] = [];
  for (let p = from; p <= to; p++)
    around.push(
      p === current
        ? html`<li><a class="fr-pagination__link" aria-current="page" title="Page ${p}">${p}</a></li>`
        : html`<li><a class="fr-pagination__link" href="${href(p)}" title="Page ${p}">${p}</a></li>`,
    );
  return html`<nav role="navigation" class="fr-pagination fr-mt-3w" aria-label="Pagination">
    <ul class="fr-pagination__list">
      ${link(1, 'Première page', 'fr-pagination__link--first', current === 1)}
      ${link(current - 1, 'Page précédente', 'fr-pagination__link--prev fr-pagination__link--lg-label', current === 1)} ${around}
      ${link(current + 1, 'Page suivante', 'fr-pagination__link--next fr-pagination__link--lg-label', current === pages)}
      ${link(pages, 'Dernière page', 'fr-pagination__link--last', current === pages)}
    </ul>
  </nav>`;
}

const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

// ---------------------------------------------------------------- the shell

type Section = 'sources' | 'passages' | 'dossiers' | 'publications';
const NAV: { id: Section | 'files'; href: string; label: string }[] = [
  { id: 'sources', href: `${CONSOLE}`, label: 'Sources' },
  { id: 'passages', href: `${CONSOLE}/passages`, label: 'Passages' },
  { id: 'dossiers', href: `${CONSOLE}/dossiers`, label: 'Constructions des dossiers' },
  { id: 'publications', href: `${CONSOLE}/publications`, label: 'Publications' },
  { id: 'files', href: '/operator/queues', label: 'Files d’attente (Bull Board)' },
];

interface ConsolePage {
  title: string;
  section?: Section;
  main: SafeHtml;
  /** Signed-in pages: the sign-out form needs the CSRF token. */
  csrf?: string;
  breadcrumb?: { label: string; href?: string }[];
  /** Load the progress script (pages showing runs). */
  live?: boolean;
}

function consolePage(p: ConsolePage): string {
  const signedIn = p.csrf !== undefined;
  return page({
    title: `${p.title} - Console d’exploitation`,
    tagline: 'Console d’exploitation',
    noindex: true,
    hideHeaderSearch: true,
    breadcrumb: p.breadcrumb ? [{ label: 'Console', href: CONSOLE }, ...p.breadcrumb] : undefined,
    headerTools: signedIn
      ? html`<ul class="fr-btns-group">
          <li>
            <form method="post" action="${CONSOLE}/deconnexion" class="console-deconnexion">
              <input type="hidden" name="_csrf" value="${p.csrf}" />
              <button class="fr-btn fr-icon-logout-box-r-line" type="submit">Se déconnecter</button>
            </form>
          </li>
        </ul>`
      : undefined,
    navigation: signedIn
      ? html`<ul class="fr-nav__list">
          ${NAV.map(
            (n) =>
              html`<li class="fr-nav__item">
                <a class="fr-nav__link" href="${n.href}" ${n.id === p.section ? html`aria-current="page"` : ''}>${n.label}</a>
              </li>`,
          )}
        </ul>`
      : undefined,
    scripts: p.live ? [assets.consoleJs()] : [],
    main: p.main,
  });
}

// ---------------------------------------------------------------- sign-in

export function signInPage(opts: { csrf: string; next: string; error?: string; signedOut?: boolean; expired?: boolean }): string {
  return consolePage({
    title: 'Connexion',
    main: html`<div class="fr-grid-row fr-grid-row--center">
      <div class="fr-col-12 fr-col-md-8 fr-col-lg-6">
        <h1>Connexion à la console d’exploitation</h1>
        ${opts.signedOut ? alert('success', 'Vous êtes déconnecté.') : ''}
        ${opts.expired ? alert('info', 'Votre session a expiré', 'Connectez-vous de nouveau pour continuer.') : ''}
        <p>La console sert à suivre les chargements des sources, leurs rejets et la construction des dossiers, et à les relancer.</p>
        <form method="post" action="${CONSOLE}/connexion" novalidate>
          <input type="hidden" name="_csrf" value="${opts.csrf}" />
          <input type="hidden" name="suite" value="${opts.next}" />
          <fieldset class="fr-fieldset" aria-labelledby="connexion-legende">
            <legend class="fr-fieldset__legend" id="connexion-legende">Identifiez-vous avec le jeton d’exploitation</legend>
            <div class="fr-fieldset__element">
              <div class="fr-input-group ${opts.error ? 'fr-input-group--error' : ''}">
                <label class="fr-label" for="jeton">
                  Jeton d’exploitation
                  <span class="fr-hint-text">La valeur de OPERATOR_TOKEN dans la configuration du serveur.</span>
                </label>
                <input
                  class="fr-input ${opts.error ? 'fr-input--error' : ''}"
                  type="password"
                  id="jeton"
                  name="jeton"
                  autocomplete="current-password"
                  required
                  ${opts.error ? html`aria-describedby="jeton-erreur" aria-invalid="true"` : ''}
                />
                ${opts.error ? html`<p id="jeton-erreur" class="fr-error-text">${opts.error}</p>` : ''}
              </div>
            </div>
            <div class="fr-fieldset__element">
              <button class="fr-btn" type="submit">Se connecter</button>
            </div>
          </fieldset>
        </form>
      </div>
    </div>`,
  });
}

// ---------------------------------------------------------------- sources

export function sourcesPage(sources: SourceOverview[], csrf: string): string {
  const rows = sources.map(
    (s) =>
      html`<tr>
        <td><strong>${s.title}</strong><br /><span class="fr-text--sm">${s.id} · ${s.producer}</span></td>
        <td><code>${s.schedule}</code></td>
        <td>${when(s.nextSlot, slotFmt)}</td>
        <td>
          ${
            s.lastRun
              ? html`${badge(s.lastRun.status)}<br /><a href="${CONSOLE}/passages/${s.lastRun.id}">n° ${s.lastRun.id}</a>,
                  ${when(s.lastRun.startedAt)}`
              : 'jamais'
          }
        </td>
        <td>
          ${
            s.edition
              ? html`${s.edition.millesime}<br /><span class="fr-text--sm"
                    >${formatInt(s.edition.rows)} lignes, publiée le ${when(s.edition.publishedAt)}</span
                  >`
              : 'aucune'
          }
        </td>
        <td>
          <a class="fr-btn fr-btn--sm fr-btn--secondary" href="${CONSOLE}/sources/${s.id}/lancer" title="Lancer maintenant : ${s.title}"
            >Lancer maintenant</a
          >
        </td>
      </tr>`,
  );
  return consolePage({
    title: 'Sources',
    section: 'sources',
    csrf,
    main: html`<h1 class="fr-mt-4w">Sources</h1>
      <p>
        Chaque source est chargée selon sa planification (expression cron, heure de Paris) par le planificateur, qui met un passage en file
        d’attente ; un worker le prend.
      </p>
      <ul class="fr-btns-group fr-btns-group--inline-md">
        <li><a class="fr-btn fr-btn--secondary" href="${CONSOLE}/sources/verification">Vérifier les sources en amont</a></li>
        <li><a class="fr-btn fr-btn--secondary" href="${CONSOLE}/dossiers/construire">Construire les dossiers</a></li>
      </ul>
      ${table({
        caption: 'Sources déclarées',
        head: ['Source', 'Planification', 'Prochain créneau', 'Dernier passage', 'Édition publiée', 'Action'],
        rows,
      })}`,
  });
}

export function checkPage(result: { checks: ResourceCheck[]; at: Date } | { error: string }, csrf: string): string {
  const body =
    'error' in result
      ? alert('error', 'Vérification impossible', result.error)
      : html`<p>Vérifié le ${when(result.at)} : ${formatInt(result.checks.length)} ressources.</p>
          ${table({
            caption: 'Ressources déclarées et ce qu’en dit leur producteur',
            head: ['Source', 'Ressource', 'État', 'Édition en amont', 'Édition chargée', 'Détail'],
            rows: result.checks.map((c) => {
              const st = CHECK[c.status] ?? { label: c.status, badge: 'info' };
              return html`<tr>
                <td>${c.source}</td>
                <td>${c.resource}</td>
                <td><span class="fr-badge fr-badge--sm fr-badge--no-icon fr-badge--${st.badge}">${st.label}</span></td>
                <td>${c.edition ?? '—'}</td>
                <td>${c.loaded ?? '—'}</td>
                <td class="console-texte">
                  ${c.detail}${c.location ? html`<br />Nouvelle adresse : <code>${c.location}</code>` : ''}
                  ${c.url ? html`<br /><code>${c.url}</code>` : ''}
                </td>
              </tr>`;
            }),
          })}`;
  return consolePage({
    title: 'Vérification des sources en amont',
    section: 'sources',
    csrf,
    breadcrumb: [{ label: 'Sources', href: CONSOLE }, { label: 'Vérification en amont' }],
    main: html`<h1>Vérification des sources en amont</h1>
      <p>
        Pour chaque ressource déclarée, la console demande à son producteur (API de data.gouv.fr, sinon une requête HEAD) si elle est
        toujours là et quelle édition il publie, sans rien télécharger. Comme <code>dotation sources check</code>.
      </p>
      ${body}`,
  });
}

export function confirmRunPage(s: { id: string; title: string; producer: string }, csrf: string): string {
  return consolePage({
    title: `Lancer ${s.title}`,
    section: 'sources',
    csrf,
    breadcrumb: [{ label: 'Sources', href: CONSOLE }, { label: `Lancer ${s.title}` }],
    main: html`<h1>Lancer maintenant le passage de « ${s.title} » ?</h1>
      <p>
        Un passage de la source <strong>${s.id}</strong> (${s.producer}) sera mis en file d’attente. Un worker le prendra : il cherchera les
        fichiers (copie locale, sinon téléchargement), les chargera et publiera le jeu de données s’il passe les contrôles. Le jeu publié
        reste en place si le passage échoue.
      </p>
      <form method="post" action="${CONSOLE}/sources/${s.id}/lancer">
        <input type="hidden" name="_csrf" value="${csrf}" />
        <fieldset class="fr-fieldset">
          <legend class="fr-fieldset__legend fr-fieldset__legend--regular">Option</legend>
          <div class="fr-fieldset__element">
            <div class="fr-checkbox-group">
              <input type="checkbox" id="force" name="force" value="oui" />
              <label class="fr-label" for="force">Recharger même si les fichiers n’ont pas changé depuis le dernier passage réussi</label>
            </div>
          </div>
        </fieldset>
        <ul class="fr-btns-group fr-btns-group--inline-md">
          <li><button class="fr-btn" type="submit">Confirmer le lancement</button></li>
          <li><a class="fr-btn fr-btn--secondary" href="${CONSOLE}">Annuler</a></li>
        </ul>
      </form>`,
  });
}

// ---------------------------------------------------------------- runs

/** The cells of a run that the progress script updates (data-champ). */
function counts(r: Run): SafeHtml {
  return html`<td data-champ="read">${formatInt(r.read)}</td>
    <td data-champ="loaded">${formatInt(r.loaded)}</td>
    <td data-champ="rejected">
      ${
        r.rejected > 0 && r.source !== 'packs'
          ? html`<a href="${CONSOLE}/passages/${r.id}/quarantaine" title="Rejets du passage n° ${r.id}">${formatInt(r.rejected)}</a>`
          : formatInt(r.rejected)
      }
    </td>
    <td data-champ="published">${formatInt(r.published)}</td>`;
}

const live = (r: Run) => r.status === 'running' || r.status === 'queued';

function runRow(r: Run): SafeHtml {
  return html`<tr data-passage="${r.id}" ${live(r) ? html`data-en-cours="${r.status}"` : ''}>
    <td><a href="${r.source === 'packs' ? `${CONSOLE}/dossiers/${r.id}` : `${CONSOLE}/passages/${r.id}`}">n° ${r.id}</a></td>
    <td>${r.source}</td>
    <td data-champ="status">${badge(r.status)}</td>
    <td>${TRIGGERS[r.trigger] ?? r.trigger}${r.attempt > 1 ? html`, essai ${r.attempt}` : ''}</td>
    <td>${when(r.startedAt)}</td>
    <td data-champ="duration">${duration(r.startedAt, r.finishedAt ?? (live(r) ? null : r.heartbeatAt))}</td>
    ${counts(r)}
    <td>${r.millesime ?? '—'}</td>
    <td class="console-texte">${r.error ? truncate(r.error, 300) : ''}</td>
  </tr>`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function waitingTable(waiting: WaitingJob[] | { error: string }): SafeHtml | string {
  if ('error' in waiting)
    return alert('warning', 'File d’attente injoignable', `Les travaux en attente ne peuvent être lus : ${waiting.error}.`);
  if (!waiting.length) return '';
  return table({
    caption: 'Travaux en attente d’un worker',
    id: 'travaux-en-attente',
    head: ['File', 'Travail', 'État', 'Mis en file', 'Essais faits'],
    rows: waiting.map(
      (j) =>
        html`<tr>
          <td>${j.queue}</td>
          <td>${j.name} <span class="fr-text--sm">(${j.id})</span></td>
          <td>${{ waiting: 'en attente', delayed: 'attend un nouvel essai', prioritized: 'en attente' }[j.state] ?? j.state}</td>
          <td>${when(j.enqueuedAt)}</td>
          <td>${j.attempts}</td>
        </tr>`,
    ),
  });
}

const RUN_HEAD = [
  'Passage',
  'Source',
  'État',
  'Déclenché par',
  'Début',
  'Durée',
  'Lues',
  'Chargées',
  'Rejetées',
  'Publiées',
  'Millésime',
  'Erreur',
];

export function runsPage(opts: {
  runs: Run[];
  total: number;
  page: number;
  source?: string;
  status?: RunStatus;
  sources: string[];
  waiting: WaitingJob[] | { error: string };
  csrf: string;
  enqueued?: { source: string; job: string };
}): string {
  const href = (p: number) => `${CONSOLE}/passages${query({ source: opts.source, statut: opts.status, page: p > 1 ? p : undefined })}`;
  const newest = opts.runs[0]?.id ?? 0;
  // The list is reloaded when a run shown ends or, on the unfiltered first page, when a newer run begins.
  const watchNew = opts.page === 1 && !opts.source && !opts.status;
  return consolePage({
    title: 'Passages',
    section: 'passages',
    csrf: opts.csrf,
    live: true,
    main: html`<h1 class="fr-mt-4w">Passages</h1>
      ${
        opts.enqueued
          ? alert(
              'success',
              `Passage de ${opts.enqueued.source} mis en file d’attente`,
              `Travail ${opts.enqueued.job}. Il apparaîtra dans la liste dès qu’un worker l’aura pris.`,
            )
          : ''
      }
      <form method="get" action="${CONSOLE}/passages" class="fr-mb-3w">
        <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom">
          <div class="fr-col-12 fr-col-md-4">
            <div class="fr-select-group">
              <label class="fr-label" for="filtre-source">Source</label>
              <select class="fr-select" id="filtre-source" name="source">
                <option value="">Toutes</option>
                ${opts.sources.map((s) => html`<option value="${s}" ${s === opts.source ? html`selected` : ''}>${s}</option>`)}
              </select>
            </div>
          </div>
          <div class="fr-col-12 fr-col-md-4">
            <div class="fr-select-group">
              <label class="fr-label" for="filtre-statut">État</label>
              <select class="fr-select" id="filtre-statut" name="statut">
                <option value="">Tous</option>
                ${RUN_STATUSES.map((s) => html`<option value="${s}" ${s === opts.status ? html`selected` : ''}>${STATUS[s].label}</option>`)}
              </select>
            </div>
          </div>
          <div class="fr-col-12 fr-col-md-4">
            <button class="fr-btn fr-btn--secondary" type="submit">Filtrer</button>
          </div>
        </div>
      </form>
      ${waitingTable(opts.waiting)}
      <p id="passages-annonce" class="fr-sr-only" role="status" aria-live="polite"></p>
      <div
        id="passages"
        data-etat-url="${CONSOLE}/passages/etat.json"
        data-dernier="${watchNew ? String(newest) : ''}"
        data-attente="${!('error' in opts.waiting) && opts.waiting.some((j) => j.queue === 'runs' || j.queue === 'packs') ? 'oui' : ''}"
      >
        <p>${formatInt(opts.total)} passage${opts.total > 1 ? 's' : ''}${opts.source || opts.status ? ' (filtrés)' : ''}.</p>
        ${table({ caption: 'Passages, du plus récent au plus ancien', head: RUN_HEAD, rows: opts.runs.map(runRow), empty: 'Aucun passage.' })}
      </div>
      ${pagination(href, opts.page, opts.total)}`,
  });
}

export function runPage(run: Run, files: RunFile[], csrf: string): string {
  const item = (label: string, value: SafeHtml | string) =>
    html`<dt class="fr-text--bold">${label}</dt>
      <dd class="fr-mb-2w">${value}</dd>`;
  return consolePage({
    title: `Passage n° ${run.id}`,
    section: 'passages',
    csrf,
    live: true,
    breadcrumb: [{ label: 'Passages', href: `${CONSOLE}/passages` }, { label: `Passage n° ${run.id}` }],
    main: html`<h1>Passage n° ${run.id} : ${run.source}</h1>
      ${run.error ? alert(run.status === 'refused' ? 'warning' : 'error', 'Message du passage', run.error) : ''}
      <p id="passages-annonce" class="fr-sr-only" role="status" aria-live="polite"></p>
      <div id="passages" data-etat-url="${CONSOLE}/passages/etat.json">
        ${table({
          caption: 'État et comptes',
          head: RUN_HEAD,
          rows: [runRow(run)],
        })}
      </div>
      <dl>
        ${item('Fin', when(run.finishedAt))} ${item('Dernier signe de vie', when(run.heartbeatAt))}
        ${item('Travail de la file', run.jobId ?? '—')} ${item('Octets lus', formatBytes(run.bytes))}
        ${item(
          'Options',
          Object.entries(run.options).filter(([, v]) => v !== undefined && v !== null).length
            ? html`<code>${JSON.stringify(run.options)}</code>`
            : 'aucune',
        )}
      </dl>
      ${
        run.rejected > 0
          ? html`<p>
              <a class="fr-link fr-icon-arrow-right-line fr-link--icon-right" href="${CONSOLE}/passages/${run.id}/quarantaine"
                >Voir les ${formatInt(run.rejected)} lignes rejetées</a
              >
            </p>`
          : ''
      }
      <h2>Fichiers lus</h2>
      ${table({
        caption: 'Fichiers lus par ce passage',
        head: ['Ressource', 'Origine', 'Fichier', 'Taille', 'Édition', 'SHA-256'],
        empty: 'Aucun fichier (valeurs intégrées, ou le passage a échoué avant).',
        rows: files.map(
          (f) =>
            html`<tr>
              <td>${f.resource}</td>
              <td>
                ${{ download: 'téléchargement', 'not-modified': 'inchangé en amont', mirror: 'copie locale', file: 'fichier donné', embedded: 'intégré' }[f.origin] ?? f.origin}
              </td>
              <td class="console-texte"><code>${f.path}</code>${f.url ? html`<br /><code>${f.url}</code>` : ''}</td>
              <td>${formatBytes(f.bytes)}</td>
              <td>${f.edition ?? '—'}</td>
              <td class="console-texte"><code>${f.sha256}</code></td>
            </tr>`,
        ),
      })}`,
  });
}

export function quarantinePage(run: Run, rows: QuarantineRow[], total: number, pageNo: number, csrf: string): string {
  const from = (pageNo - 1) * PER_PAGE + 1;
  return consolePage({
    title: `Rejets du passage n° ${run.id}`,
    section: 'passages',
    csrf,
    breadcrumb: [
      { label: 'Passages', href: `${CONSOLE}/passages` },
      { label: `Passage n° ${run.id}`, href: `${CONSOLE}/passages/${run.id}` },
      { label: 'Rejets' },
    ],
    main: html`<h1>Lignes rejetées du passage n° ${run.id} (${run.source})</h1>
      <p>
        ${formatInt(total)} ligne${total > 1 ? 's' : ''} en
        quarantaine${total ? `, lignes ${formatInt(from)} à ${formatInt(Math.min(total, from + rows.length - 1))}` : ''}. Chaque ligne
        rejetée est gardée avec son fichier, son numéro de ligne et la raison du rejet ; les autres ont été chargées.
      </p>
      ${table({
        caption: `Rejets du passage n° ${run.id}, page ${pageNo}`,
        head: ['Fichier', 'Ligne', 'Raison', 'Contenu de la ligne'],
        empty: 'Aucune ligne rejetée.',
        rows: rows.map(
          (q) =>
            html`<tr>
              <td class="console-texte"><code>${q.file}</code></td>
              <td>${q.line === null ? '—' : formatInt(q.line)}</td>
              <td class="console-texte">${q.reason}</td>
              <td class="console-texte"><code>${q.raw === null ? '' : truncate(q.raw, 500)}</code></td>
            </tr>`,
        ),
      })}
      ${pagination((p) => `${CONSOLE}/passages/${run.id}/quarantaine${query({ page: p > 1 ? p : undefined })}`, pageNo, total)}`,
  });
}

// ---------------------------------------------------------------- pack builds

export function packBuildsPage(opts: {
  runs: Run[];
  total: number;
  page: number;
  waiting: WaitingJob[] | { error: string };
  csrf: string;
}): string {
  const rows = opts.runs.map(
    (r) =>
      html`<tr data-passage="${r.id}" ${live(r) ? html`data-en-cours="${r.status}"` : ''}>
        <td><a href="${CONSOLE}/dossiers/${r.id}">n° ${r.id}</a></td>
        <td data-champ="status">${badge(r.status)}</td>
        <td>${TRIGGERS[r.trigger] ?? r.trigger}</td>
        <td>${when(r.startedAt)}</td>
        <td>${duration(r.startedAt, r.finishedAt ?? (live(r) ? null : r.heartbeatAt))}</td>
        <td>${progressText(r.progress)}</td>
        <td class="console-texte">${r.error ? truncate(r.error, 300) : ''}</td>
      </tr>`,
  );
  return consolePage({
    title: 'Constructions des dossiers',
    section: 'dossiers',
    csrf: opts.csrf,
    live: true,
    main: html`<h1 class="fr-mt-4w">Constructions des dossiers</h1>
      <p>
        Une construction répartie met en file un travail par département ; les workers se les partagent. Les constructions faites sans la
        file (<code>dotation packs build</code>, <code>dotation start</code>) n’apparaissent pas ici.
      </p>
      <ul class="fr-btns-group fr-btns-group--inline-md">
        <li><a class="fr-btn" href="${CONSOLE}/dossiers/construire">Construire les dossiers</a></li>
      </ul>
      ${waitingTable(opts.waiting)}
      <p id="passages-annonce" class="fr-sr-only" role="status" aria-live="polite"></p>
      <div id="passages" data-etat-url="${CONSOLE}/passages/etat.json">
        ${table({
          caption: 'Constructions réparties, de la plus récente à la plus ancienne',
          head: ['Construction', 'État', 'Déclenchée par', 'Début', 'Durée', 'Avancement', 'Erreur'],
          rows,
          empty: 'Aucune construction répartie.',
        })}
      </div>
      ${pagination((p) => `${CONSOLE}/dossiers${query({ page: p > 1 ? p : undefined })}`, opts.page, opts.total)}`,
  });
}

function progressText(p: Record<string, number>): string {
  if (p.departementsTotal === undefined) return '—';
  const parts = [`${formatInt(p.departementsDone ?? 0)} / ${formatInt(p.departementsTotal)} départements`];
  if (p.communesTotal !== undefined) parts.push(`${formatInt(p.communesTotal)} communes`);
  parts.push(`${formatInt(p.built ?? 0)} construits, ${formatInt(p.unchanged ?? 0)} inchangés, ${formatInt(p.failed ?? 0)} en échec`);
  return parts.join(' ; ');
}

export function packBuildPage(
  b: { run: Run; buildId: string | null; departements: DepartementBuild[]; failedCommunes: FailedCommune[] },
  csrf: string,
): string {
  return consolePage({
    title: `Construction n° ${b.run.id}`,
    section: 'dossiers',
    csrf,
    live: true,
    breadcrumb: [{ label: 'Constructions des dossiers', href: `${CONSOLE}/dossiers` }, { label: `Construction n° ${b.run.id}` }],
    main: html`<h1>Construction des dossiers n° ${b.run.id}</h1>
      ${b.run.error ? alert('error', 'Message de la construction', b.run.error) : ''}
      <p id="passages-annonce" class="fr-sr-only" role="status" aria-live="polite"></p>
      <div id="passages" data-etat-url="${CONSOLE}/passages/etat.json">
        <p data-passage="${b.run.id}" ${live(b.run) ? html`data-en-cours="${b.run.status}"` : ''}>
          <span data-champ="status">${badge(b.run.status)}</span> ${progressText(b.run.progress)}. Début ${when(b.run.startedAt)}, durée
          ${duration(b.run.startedAt, b.run.finishedAt ?? (live(b.run) ? null : b.run.heartbeatAt))}${
            b.buildId ? html`, identifiant <code>${b.buildId}</code>` : ''
          }.
        </p>
        ${table({
          caption: 'Départements',
          head: ['Département', 'État', 'Essai', 'Communes', 'Construits', 'Inchangés', 'En échec', 'Durée', 'Worker', 'Erreur'],
          empty: 'Aucun département terminé pour l’instant.',
          rows: b.departements.map(
            (d) =>
              html`<tr>
                <td>${d.departement}</td>
                <td>${d.status === 'succeeded' ? badge('succeeded') : badge('failed')}</td>
                <td>${d.attempt}</td>
                <td>${formatInt(d.communes)}</td>
                <td>${formatInt(d.built)}</td>
                <td>${formatInt(d.unchanged)}</td>
                <td>${formatInt(d.failed)}</td>
                <td>${d.seconds === null ? '—' : `${d.seconds.toFixed(1).replace('.', ',')} s`}</td>
                <td>${d.worker}</td>
                <td class="console-texte">${d.error ? truncate(d.error, 300) : ''}</td>
              </tr>`,
          ),
        })}
      </div>
      ${
        b.failedCommunes.length
          ? html`<h2>Communes en échec</h2>
              ${table({
                caption: 'Communes dont le dossier n’a pas pu être construit',
                head: ['Département', 'Commune', 'Essai', 'Erreur'],
                rows: b.failedCommunes.map(
                  (c) =>
                    html`<tr>
                      <td>${c.departement}</td>
                      <td>${c.code}</td>
                      <td>${c.attempt}</td>
                      <td class="console-texte">${c.error ?? ''}</td>
                    </tr>`,
                ),
              })}`
          : ''
      }`,
  });
}

export function confirmBuildPage(csrf: string, error?: { message: string; departements: string }): string {
  return consolePage({
    title: 'Construire les dossiers',
    section: 'dossiers',
    csrf,
    breadcrumb: [{ label: 'Constructions des dossiers', href: `${CONSOLE}/dossiers` }, { label: 'Construire' }],
    main: html`<h1>Construire les dossiers ?</h1>
      ${error && !error.departements ? alert('error', 'La construction n’a pas été lancée', error.message) : ''}
      <p>
        Un travail par département sera mis en file d’attente. Seules les communes dont les données ont changé reçoivent une nouvelle
        version de leur dossier. Une seule construction à la fois : la demande est refusée si une autre n’est pas finie.
      </p>
      <form method="post" action="${CONSOLE}/dossiers/construire">
        <input type="hidden" name="_csrf" value="${csrf}" />
        <fieldset class="fr-fieldset">
          <legend class="fr-fieldset__legend fr-fieldset__legend--regular">Options</legend>
          <div class="fr-fieldset__element">
            <div class="fr-input-group ${error?.departements ? 'fr-input-group--error' : ''}">
              <label class="fr-label" for="departements"
                >Départements (facultatif)
                <span class="fr-hint-text">Codes séparés par des virgules ou des espaces, par exemple 35, 2A, 971. Vide : tous.</span>
              </label>
              <input
                class="fr-input ${error?.departements ? 'fr-input--error' : ''}"
                type="text"
                id="departements"
                name="departements"
                value="${error?.departements ?? ''}"
                ${error?.departements ? html`aria-describedby="departements-erreur" aria-invalid="true"` : ''}
              />
              ${error?.departements ? html`<p id="departements-erreur" class="fr-error-text">${error.message}</p>` : ''}
            </div>
          </div>
          <div class="fr-fieldset__element">
            <div class="fr-checkbox-group">
              <input type="checkbox" id="force-dossiers" name="force" value="oui" />
              <label class="fr-label" for="force-dossiers">Reconstruire même les dossiers dont les données n’ont pas changé</label>
            </div>
          </div>
        </fieldset>
        <ul class="fr-btns-group fr-btns-group--inline-md">
          <li><button class="fr-btn" type="submit">Confirmer la construction</button></li>
          <li><a class="fr-btn fr-btn--secondary" href="${CONSOLE}/dossiers">Annuler</a></li>
        </ul>
      </form>`,
  });
}

// ---------------------------------------------------------------- publications

const TARGET_STATE: Record<TargetStatus['state'], { label: string; badge: string }> = {
  active: { label: 'Active', badge: 'success' },
  failing: { label: 'En échec, réessaiera', badge: 'warning' },
  stopped: { label: 'Arrêtée (clé refusée)', badge: 'error' },
};

export function publicationsPage(targets: TargetStatus[], csrf: string): string {
  return consolePage({
    title: 'Publications',
    section: 'publications',
    csrf,
    main: html`<h1 class="fr-mt-4w">Publications sur data.gouv.fr</h1>
      <p>
        Les communes inscrites (<code>dotation publish register</code> ou <code>PUT /operator/publications/{code}</code>) voient chaque
        nouvelle version de leur dossier publiée dans leur organisation.
      </p>
      ${table({
        caption: 'Communes inscrites pour la publication',
        head: ['Commune', 'État', 'Version publiée', 'Dernière version', 'Jeux de données', 'Dernier essai', 'Erreur'],
        empty: 'Aucune commune inscrite.',
        rows: targets.map((t) => {
          const st = TARGET_STATE[t.state];
          return html`<tr>
            <td>${t.nom ?? ''} <span class="fr-text--sm">(${t.code})</span><br /><span class="fr-text--sm">${t.organization}</span></td>
            <td><span class="fr-badge fr-badge--sm fr-badge--no-icon fr-badge--${st.badge}">${st.label}</span></td>
            <td>${t.publishedVersion ?? '—'}${t.publishedAt ? html`<br />${when(new Date(t.publishedAt))}` : ''}</td>
            <td>${t.latestVersion ?? '—'}</td>
            <td>${formatInt(t.datasets)}</td>
            <td>${t.lastAttemptAt ? when(new Date(t.lastAttemptAt)) : '—'}</td>
            <td class="console-texte">${t.stopReason ?? t.lastError ?? ''}</td>
          </tr>`;
        }),
      })}`,
  });
}

// ---------------------------------------------------------------- errors

export function errorPage(status: number, message: string, csrf?: string): string {
  const title =
    status === 404 ? 'Page introuvable' : status === 403 ? 'Action refusée' : status === 503 ? 'Service indisponible' : 'Erreur';
  return consolePage({
    title,
    csrf,
    main: html`<h1 class="fr-mt-4w">${title}</h1>
      <p>${message}</p>
      <p><a class="fr-link" href="${CONSOLE}">Retour à la console</a></p>`,
  });
}
