/**
 * A commune's name inside a French sentence, from the COG's TNCC field ("type de nom en clair"),
 * which tells the article the name starts with and the "charnière" that links it:
 *
 *   TNCC  article  charnière   example (LIBELLE)          "les données …"
 *   0     —        de          Rennes                     de Rennes          (consonant, or h aspiré: de Hautot)
 *   1     —        d'          Ajaccio                    d'Ajaccio          (vowel, or h muet: d'Hérouville)
 *   2     Le       du          Le Havre                   du Havre
 *   3     La       de La       La Rochelle                de La Rochelle
 *   4     Les      des         Les Abymes                 des Abymes
 *   5     L'       de L'       L'Haÿ-les-Roses            de L'Haÿ-les-Roses
 *   6     Aux      des         Aux Marais                 des Marais
 *   7     Las      de Las      (none in the COG 2024)     de Las …
 *   8     Los      de Los      Los Masos                  de Los Masos
 *
 * Checked against the INSEE communes table of ../shared/data/cog/communes.csv (COG 2024): every
 * LIBELLE of TNCC 2–8 starts with its article, TNCC 1 names start with a vowel or an H, TNCC 0 with
 * a consonant (251 with an H). The npm referential @etalab/decoupage-administratif carries the same
 * field as `typeLiaison` (parseInt of TNCC), consistent with its own names; it lacks it only for the
 * collectivités d'outre-mer (975…988), for which `guessTncc` reads the article from the name.
 */
export type Tncc = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ARTICLES: Record<number, { article: string; de: string; a: string } | undefined> = {
  2: { article: 'Le ', de: 'du ', a: 'au ' },
  4: { article: 'Les ', de: 'des ', a: 'aux ' },
  6: { article: 'Aux ', de: 'des ', a: 'aux ' },
};

function isTncc(n: unknown): n is Tncc {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 8;
}

/**
 * TNCC read from the name when the referential has none: the article it starts with, else 1 before
 * a vowel and 0 otherwise (an initial H is taken as aspiré: "de Hautot", the safer default).
 */
export function guessTncc(nom: string): Tncc {
  if (/^Le /.test(nom)) return 2;
  if (/^La /.test(nom)) return 3;
  if (/^Les /.test(nom)) return 4;
  if (/^L['’]/.test(nom)) return 5;
  if (/^Aux /.test(nom)) return 6;
  if (/^Las /.test(nom)) return 7;
  if (/^Los /.test(nom)) return 8;
  return /^[AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ]/i.test(nom) ? 1 : 0;
}

/** The TNCC to use: the referential's when valid and consistent with the name, else read from the name. */
function effectiveTncc(nom: string, tncc: number | null | undefined): Tncc {
  if (!isTncc(tncc)) return guessTncc(nom);
  const a = ARTICLES[tncc];
  // A contracted article (du, des) must drop the article the name starts with: refuse a TNCC that disagrees.
  if (a && !nom.startsWith(a.article)) return guessTncc(nom);
  return tncc;
}

/** "de Rennes", "d'Ajaccio", "du Havre", "des Abymes", "de La Rochelle", "de L'Haÿ-les-Roses". */
export function deCommune(nom: string, tncc?: number | null): string {
  const t = effectiveTncc(nom, tncc);
  const a = ARTICLES[t];
  if (a) return a.de + nom.slice(a.article.length);
  return t === 1 ? `d'${nom}` : `de ${nom}`;
}

/** "à Rennes", "à Ajaccio", "au Havre", "aux Abymes", "à La Rochelle". */
export function aCommune(nom: string, tncc?: number | null): string {
  const t = effectiveTncc(nom, tncc);
  const a = ARTICLES[t];
  if (a) return a.a + nom.slice(a.article.length);
  return `à ${nom}`;
}
