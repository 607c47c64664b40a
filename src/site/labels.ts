import { sourceRegistry } from '../../config/sources';

/**
 * Plain-French labels for what the page names: editions (millésimes) as a person says them,
 * pack files by their title, sizes and numbers in French typography. No raw source id or
 * millésime key reaches the page ("presidentielle-2022-t2" → "Présidentielle 2022, 2nd tour").
 */
const SCRUTINS: Record<string, string> = {
  presidentielle: 'Présidentielle',
  legislatives: 'Législatives',
  europeennes: 'Européennes',
  municipales: 'Municipales',
  regionales: 'Régionales',
  departementales: 'Départementales',
  referendum: 'Référendum',
};

/** "presidentielle-2022" + tour 2 → "Présidentielle 2022, 2nd tour" (a scrutin with one round: no tour). */
export function electionLabel(election: string, tour?: number | null): string {
  const m = /^([a-z]+)-(\d{4})(?:-t(\d))?$/.exec(election);
  const t = tour ?? (m?.[3] ? Number(m[3]) : null);
  const name = m ? `${SCRUTINS[m[1]] ?? m[1][0].toUpperCase() + m[1].slice(1)} ${m[2]}` : election;
  if (!t || (m && m[1] === 'europeennes')) return name;
  return `${name}, ${t === 1 ? '1er' : t === 2 ? '2nd' : `${t}e`} tour`;
}

/** The edition of a source as a person reads it. */
export function millesimeLabel(source: string, millesime: string): string {
  if (source === 'elections') return electionLabel(millesime);
  if (source === 'populations' && /^\d{4}$/.test(millesime))
    return `populations légales ${millesime} (en vigueur au 1er janvier ${Number(millesime) + 3})`;
  if (source === 'cog') return `code officiel géographique ${millesime}`;
  if (source === 'contours' && /^\d{4}$/.test(millesime)) return `contours de l’IGN, géographie ${millesime}`;
  if (/^\d{4}_T\d$/.test(millesime)) return `${millesime.slice(-1)}e trimestre ${millesime.slice(0, 4)}`.replace(/^1e/, '1er');
  // An extract of a day (RNA, RNE, FINESS…) or a monthly file (Sitadel): « édition du 5 avril 2026 », « édition d’août 2026 ».
  if (/^\d{4}-\d{2}-\d{2}$/.test(millesime)) return `édition du ${formatDate(millesime)}`.replace(/ du 1 /, ' du 1er ');
  if (/^\d{4}-(0[1-9]|1[0-2])$/.test(millesime)) {
    const month = new Date(`${millesime}-01T00:00:00Z`).toLocaleDateString('fr-FR', { timeZone: 'UTC', month: 'long', year: 'numeric' });
    return `édition ${/^[aeiou]/.test(month) ? 'd’' : 'de '}${month}`;
  }
  return `édition ${millesime}`;
}

const FIXED_FILES: Record<string, string> = {
  'LISEZMOI.md': 'Mode d’emploi du dossier (à lire en premier)',
  'LISEZMOI.html': 'Mode d’emploi du dossier, à ouvrir dans un navigateur',
  'commune.json': 'Fiche d’identité de la commune',
  'datapackage.json': 'Description technique des fichiers (Data Package)',
  'catalogue.csv': 'Catalogue des données au format SCDL',
  'changes.json': 'Changements depuis la version précédente',
};

let fileTitles: Map<string, { title: string; source: string }> | undefined;
/** Title of a pack file from the pack sections of the sources (`population.csv` → "Populations légales…"). */
export function fileLabel(name: string): { title: string; source: string | null } {
  if (FIXED_FILES[name]) return { title: FIXED_FILES[name], source: null };
  if (!fileTitles) {
    fileTitles = new Map();
    for (const [id, p] of sourceRegistry()) {
      for (const t of p.pack?.tables ?? []) {
        fileTitles.set(`${t.name}.csv`, { title: t.title, source: id });
        fileTitles.set(`${id}-${t.name}.csv`, { title: t.title, source: id });
      }
      for (const l of p.pack?.layers ?? []) {
        fileTitles.set(`${l.name}.geojson`, { title: l.title, source: id });
        fileTitles.set(`${id}-${l.name}.geojson`, { title: l.title, source: id });
      }
    }
  }
  const f = fileTitles.get(name);
  return f ?? { title: name, source: null };
}

export function formatOf(name: string): string {
  const ext = name.split('.').pop()?.toLowerCase();
  return (
    { csv: 'Tableau CSV', geojson: 'Carte GeoJSON', json: 'JSON', md: 'Texte', html: 'Page HTML', zip: 'Archive ZIP' }[ext ?? ''] ??
    'Fichier'
  );
}

const nf = new Intl.NumberFormat('fr-FR');
/** 225081 → "225 081" (narrow no-break space, as French typography wants). */
export function formatNumber(n: number, digits = 0): string {
  return new Intl.NumberFormat('fr-FR', { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}
export function formatInt(n: number): string {
  return nf.format(n);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} octets`;
  if (n < 1024 * 1024) return `${formatNumber(n / 1024, 1)} Ko`;
  return `${formatNumber(n / 1024 / 1024, 1)} Mo`;
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleDateString('fr-FR', { timeZone: 'Europe/Paris', day: 'numeric', month: 'long', year: 'numeric' });
}

/** "rows" in French: 0 ligne, 1 ligne, 2 lignes. */
export function lignes(n: number): string {
  return `${formatInt(n)} ligne${n > 1 ? 's' : ''}`;
}
