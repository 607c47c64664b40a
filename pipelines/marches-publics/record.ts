/**
 * One DECP record (a marché or a contrat de concession) read into flat rows, one per titulaire.
 * Both generations of the format are read: 2024+ (arrêtés of 22 December 2022:
 * `titulaires[].titulaire {typeIdentifiant, id}`, `modifications[].modification {…}`) and 2019–2023
 * (`titulaires[] {typeIdentifiant, id, denominationSociale}`, `acheteur {id, nom}`,
 * `lieuExecution {code, typeCode, nom}`). Numeric fields may hold the string "NC" (not communicated).
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s && s.toUpperCase() !== 'NC' ? s : null;
};

/** A number of the file: a JSON number or a numeric string (`"12500.5"`, `"12 500,50"`); null for "NC", empty or garbage. */
export function decpNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  const s = str(v)
    ?.replace(/[\s\u00a0\u202f]/g, '')
    .replace(',', '.');
  return s && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null;
}

/** A date `YYYY-MM-DD` (a time or zone after it is dropped: `2024-01-15+01:00`); null when absent or not a date. */
export function decpDate(v: unknown): string | null {
  const s = str(v);
  const m = s ? /^(\d{4})-(\d{2})-(\d{2})/.exec(s) : null;
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && y >= 1990 ? m[0] : null;
}

/** A list of the file: `[{titulaire: {…}}]`, `[{…}]`, `{titulaire: [...]}` (XML converted), or one object. */
function listOf(v: unknown, inner: string): Obj[] {
  const items = Array.isArray(v) ? v : isObj(v) && inner in v ? ([] as unknown[]).concat(v[inner]) : isObj(v) ? [v] : [];
  return items.flatMap((x) => (isObj(x) && isObj(x[inner]) ? [x[inner] as Obj] : isObj(x) ? [x] : []));
}

interface Holder {
  id: string | null;
  type: string | null;
  nom: string | null;
}

export interface DecpRecord {
  uid: string;
  id: string;
  type: 'marché' | 'concession';
  acheteurSiret: string;
  acheteurNom: string | null;
  nature: string | null;
  objet: string | null;
  codeCpv: string | null;
  procedure: string | null;
  lieuCode: string | null;
  lieuType: string | null;
  lieuNom: string | null;
  dureeMois: number | null;
  dateNotification: string | null;
  datePublication: string | null;
  montant: number | null;
  formePrix: string | null;
  titulaires: Holder[];
  modif: {
    objet: string | null;
    datePublication: string | null;
    dureeMois: number | null;
    montant: number | null;
    dateSignature: string | null;
    titulaires: Holder[];
  } | null;
}

function holders(list: Obj[]): Holder[] {
  const seen = new Set<string>();
  const out: Holder[] = [];
  for (const t of list) {
    const h = { id: str(t.id)?.replace(/\s/g, '') ?? null, type: str(t.typeIdentifiant), nom: str(t.denominationSociale) };
    const k = `${h.id}|${h.type}|${h.nom}`;
    if (!seen.has(k)) out.push(h);
    seen.add(k);
  }
  return out;
}

/** Reads one record; a string says why it cannot be used (quarantined with it). */
export function readRecord(v: unknown): DecpRecord | string {
  if (!isObj(v)) return 'not a JSON object';
  const concession = /concession/i.test(String(v._type ?? '')) || 'autoriteConcedante' in v || 'concessionnaires' in v;
  const buyer = (concession ? v.autoriteConcedante : v.acheteur) ?? v.acheteur ?? v.autoriteConcedante;
  const id = str(v.id);
  if (!id) return 'no id';
  const siret = isObj(buyer) ? str(buyer.id)?.replace(/\s/g, '') : null;
  if (!siret) return `${concession ? 'autoriteConcedante' : 'acheteur'}.id missing`;
  if (!/^\d{14}$/.test(siret)) return `${concession ? 'autoriteConcedante' : 'acheteur'}.id '${siret}' is not a SIRET (14 digits)`;
  const lieu = isObj(v.lieuExecution) ? v.lieuExecution : {};
  const mods = listOf(v.modifications, 'modification');
  const last = mods.length ? mods[mods.length - 1] : null;
  return {
    uid: str(v.uid) ?? `${siret}${id}`,
    id,
    type: concession ? 'concession' : 'marché',
    acheteurSiret: siret,
    acheteurNom: isObj(buyer) ? str(buyer.nom) : null,
    nature: str(v.nature),
    objet: str(v.objet),
    codeCpv: str(v.codeCPV),
    procedure: str(v.procedure),
    lieuCode: str(lieu.code),
    lieuType: str(lieu.typeCode),
    lieuNom: str(lieu.nom),
    dureeMois: decpNumber(v.dureeMois),
    dateNotification: decpDate(concession ? (v.dateSignature ?? v.dateDebutExecution) : v.dateNotification),
    datePublication: decpDate(v.datePublicationDonnees),
    montant: decpNumber(concession ? v.valeurGlobale : v.montant),
    formePrix: str(v.formePrix),
    titulaires: holders(listOf(concession ? v.concessionnaires : v.titulaires, concession ? 'concessionnaire' : 'titulaire')),
    modif: last
      ? {
          objet: str(last.objetModification),
          datePublication: decpDate(last.datePublicationDonneesModification),
          dureeMois: decpNumber(last.dureeMois),
          montant: decpNumber(last.montant ?? last.valeurGlobale),
          dateSignature: decpDate(last.dateSignatureModification ?? last.dateNotificationModification),
          titulaires: holders(listOf(last.titulaires, 'titulaire')),
        }
      : null,
  };
}
