/**
 * Synthetic national health files for the sante benchmark, in the layouts of test/fixtures/sante
 * (README.md there): the Annuaire Santé personne-activité file (`|`, 56 columns and a trailing
 * `|`, ≈ 390 bytes a line like the national 760 MB for ≈ 2 million lines, practitioners spread
 * over the communes by population, Paris/Lyon/Marseille by arrondissement, one line in 7 without
 * a commune, one practitioner in 5 with two places) and the FINESS geolocated extract (≈ 100,000
 * establishments, Windows-1252, `structureet` then `geolocalisation` records in Lambert 93 or the
 * territory's UTM). Written as a stream: never held whole in memory.
 *
 *   npx tsx bench/sante/generate.ts <rpps lines=2000000> <finess establishments=100000> <dir=/tmp/dotation-bench-sante>
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import iconv from 'iconv-lite';
import { benchCommunes, type BenchCommune } from '../ban/generate';

/** The 56 column names of the extraction, in order (as test/fixtures/sante/make-fixtures.ts). */
const HEADER = fs
  .readFileSync(
    path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'sante', 'PS_LibreAcces_Personne_activite_202606101208.txt'),
    'utf8',
  )
  .split('\n')[0]
  .split('|')
  .slice(0, -1);

const PROFESSIONS: [string, string, number][] = [
  ['10', 'Médecin', 230],
  ['60', 'Infirmier', 330],
  ['70', 'Masseur-Kinésithérapeute', 100],
  ['21', 'Pharmacien', 75],
  ['40', 'Chirurgien-Dentiste', 45],
  ['50', 'Sage-Femme', 25],
  ['91', 'Orthophoniste', 25],
  ['26', 'Audioprothésiste', 5],
];
const SPECIALTIES: [string, string, string][] = [
  ['S', 'SM54', 'Médecine Générale'],
  ['S', 'SM54', 'Médecine Générale'],
  ['S', 'SM54', 'Médecine Générale'],
  ['S', 'SM40', 'Pédiatrie'],
  ['S', 'SM26', 'Gynécologie médicale'],
  ['S', 'SM32', 'Neurologie'],
  ['S', 'SM04', 'Cardiologie et maladies vasculaires'],
  ['S', 'SM33', 'Psychiatrie'],
];

/** A deterministic pseudo-random sequence (the same files every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Picks communes in proportion to their population (a cumulative table, binary search). */
function weighted(communes: BenchCommune[]) {
  const cum: number[] = [];
  let total = 0;
  for (const c of communes) cum.push((total += c.population));
  return (r: number) => {
    const x = r * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return communes[lo];
  };
}

async function writeAll(out: fs.WriteStream, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

export async function generateRpps(lines: number, file: string): Promise<{ lines: number; bytes: number }> {
  const communes = benchCommunes();
  const pick = weighted(communes);
  const r = rng(42);
  const out = fs.createWriteStream(file);
  await writeAll(out, HEADER.join('|') + '|\n');
  const at = Object.fromEntries(HEADER.map((h, i) => [h, i]));
  const profTotal = PROFESSIONS.reduce((s, p) => s + p[2], 0);
  let buf = '';
  let written = 0;
  let pp = 10000000000;
  while (written < lines) {
    pp++;
    let x = r() * profTotal;
    const prof = PROFESSIONS.find((p) => (x -= p[2]) < 0) ?? PROFESSIONS[0];
    const sf = prof[0] === '10' ? SPECIALTIES[Math.floor(r() * SPECIALTIES.length)] : null;
    const places = r() < 0.2 ? 2 : 1;
    for (let k = 0; k < places && written < lines; k++, written++) {
      const c: BenchCommune | null = r() < 1 / 7 ? null : pick(r());
      const v = HEADER.map(() => '');
      v[at["Type d'identifiant PP"]] = '8';
      v[at['Identifiant PP']] = String(pp);
      v[at['Identification nationale PP']] = `8${pp}`;
      v[at["Code civilité d'exercice"]] = 'DR';
      v[at["Libellé civilité d'exercice"]] = 'Docteur';
      v[at['Code civilité']] = 'M';
      v[at['Libellé civilité']] = 'Monsieur';
      v[at["Nom d'exercice"]] = `NOM-FICTIF-${pp % 100000}`;
      v[at["Prénom d'exercice"]] = 'Prénom';
      v[at['Code profession']] = prof[0];
      v[at['Libellé profession']] = prof[1];
      v[at['Code catégorie professionnelle']] = 'C';
      v[at['Libellé catégorie professionnelle']] = 'Civil';
      if (sf) {
        v[at['Code type savoir-faire']] = sf[0];
        v[at['Libellé type savoir-faire']] = 'Spécialité ordinale';
        v[at['Code savoir-faire']] = sf[1];
        v[at['Libellé savoir-faire']] = sf[2];
      }
      const liberal = r() < 0.55;
      v[at['Code mode exercice']] = liberal ? 'L' : 'S';
      v[at['Libellé mode exercice']] = liberal ? 'Libéral, indépendant, artisan, commerçant' : 'Salarié';
      v[at['Numéro SIRET site']] = String(30000000000000 + (pp % 1000000));
      v[at['Identifiant technique de la structure']] = `R10000${pp % 1000000}`;
      v[at['Raison sociale site']] = liberal ? 'CABINET MEDICAL DES TILLEULS' : 'CENTRE HOSPITALIER';
      v[at['Numéro Voie (coord. structure)']] = String(1 + (pp % 120));
      v[at['Libellé type de voie (coord. structure)']] = 'Rue';
      v[at['Libellé Voie (coord. structure)']] = 'de la République';
      v[at['Code postal (coord. structure)']] = c ? c.cp : '';
      v[at['Code commune (coord. structure)']] = c ? c.code : '';
      v[at['Libellé commune (coord. structure)']] = c ? c.nom : 'Bruxelles';
      v[at['Code pays (coord. structure)']] = c ? '99000' : '99131';
      v[at['Libellé pays (coord. structure)']] = c ? 'France' : 'Belgique';
      v[at['Téléphone (coord. structure)']] = '0299000000';
      v[at['Adresse e-mail (coord. structure)']] = 'contact@example.org';
      v[at['Code département (coord. structure)']] = c ? c.departement : '';
      v[at["Autorité d'enregistrement"]] = 'CNOM/CNOM/CNOM';
      v[at["Code secteur d'activité"]] = liberal ? 'SA07' : 'SA01';
      v[at["Libellé secteur d'activité"]] = liberal ? 'Cabinet individuel' : 'Etablissement public de santé';
      v[at["Code genre d'activité"]] = 'GENR01';
      v[at["Libellé genre d'activité"]] = 'Activité standard de soin ou de pharmacien';
      buf += v.join('|') + '|\n';
    }
    if (buf.length > 1 << 20) {
      await writeAll(out, buf);
      buf = '';
    }
  }
  await writeAll(out, buf);
  out.end();
  await once(out, 'finish');
  return { lines: written, bytes: fs.statSync(file).size };
}

/** Lambert 93 (metropolitan France) or the territory's UTM, from a code INSEE, for a point inside a rough box. */
function projected(code: string, r: () => number): [number, number, string] {
  if (code.startsWith('974')) return [330000 + r() * 60000, 7640000 + r() * 60000, 'EPSG:2975 RGR92 / UTM zone 40S (Réunion)'];
  if (code.startsWith('971') || code.startsWith('972'))
    return [640000 + r() * 60000, 1580000 + r() * 200000, 'EPSG:5490 RGAF09 / UTM zone 20N'];
  if (code.startsWith('973')) return [300000 + r() * 60000, 500000 + r() * 100000, 'EPSG:2972 RGFG95 / UTM zone 22N'];
  if (code.startsWith('976')) return [510000 + r() * 20000, 8570000 + r() * 30000, 'EPSG:4471 RGM04 / UTM zone 38S'];
  return [200000 + r() * 900000, 6200000 + r() * 800000, 'EPSG:2154 RGF93 / Lambert-93 (Métropole)'];
}

/** The FINESS département and 3-digit commune of a code INSEE (971xx → 9A + 1xx…). */
function finessPlace(code: string): [string, string] {
  const dom: Record<string, string> = { '971': '9A', '972': '9B', '973': '9C', '974': '9D', '976': '9F' };
  return dom[code.slice(0, 3)] ? [dom[code.slice(0, 3)], code.slice(2)] : [code.slice(0, 2), code.slice(2)];
}

export async function generateFiness(establishments: number, file: string): Promise<{ establishments: number; bytes: number }> {
  const communes = benchCommunes();
  const pick = weighted(communes);
  const r = rng(7);
  const out = fs.createWriteStream(file);
  const enc = (s: string) => iconv.encode(s, 'win1252');
  await writeAll(out, enc('finess;etalab;111;2026-05-12\r\n'));
  const geo: string[] = [];
  let buf = '';
  for (let i = 0; i < establishments; i++) {
    const c = pick(r());
    const [dep, com] = finessPlace(c.code);
    const nofinesset = `${dep}${String(i).padStart(7, '0')}`;
    const fields = [
      'structureet',
      nofinesset,
      `${dep}${String(i + 5000000).padStart(7, '0')}`,
      i % 3 ? 'PHARMACIE DU CENTRE' : 'EHPAD LES TILLEULS',
      i % 3 ? 'PHARMACIE DU CENTRE' : 'ETABLISSEMENT D HEBERGEMENT LES TILLEULS',
      '',
      '',
      String(1 + (i % 90)),
      'R',
      'DE LA REPUBLIQUE',
      '',
      '',
      com,
      dep,
      'DEPARTEMENT',
      `${c.cp} ${c.nom.toUpperCase()}`,
      '0299000000',
      '',
      i % 3 ? '620' : '500',
      i % 3 ? "Pharmacie d'Officine" : "Etablissement d'hébergement pour personnes âgées dépendantes",
      i % 3 ? '3301' : '4401',
      i % 3 ? "Pharmacies d'Officine" : 'Etablissements et Services pour Personnes Agées',
      '',
      '4773Z',
      '',
      '',
      '',
      '',
      '1995-06-01',
      '1995-06-01',
      '2026-04-02',
      '',
    ];
    buf += fields.join(';') + '\r\n';
    const [x, y, src] = projected(c.code, r);
    geo.push(`geolocalisation;${nofinesset};${x.toFixed(1)};${y.toFixed(1)};2,ATLASANTE,53,BAN,${src};2026-04-02`);
    if (buf.length > 1 << 20) {
      await writeAll(out, enc(buf));
      buf = '';
    }
  }
  await writeAll(out, enc(buf));
  for (let i = 0; i < geo.length; i += 10000) await writeAll(out, enc(geo.slice(i, i + 10000).join('\r\n') + '\r\n'));
  out.end();
  await once(out, 'finish');
  return { establishments, bytes: fs.statSync(file).size };
}

if (require.main === module) {
  const lines = Number(process.argv[2] ?? 2_000_000);
  const establishments = Number(process.argv[3] ?? 100_000);
  const dir = process.argv[4] ?? '/tmp/dotation-bench-sante';
  fs.mkdirSync(dir, { recursive: true });
  (async () => {
    console.log(await generateRpps(lines, path.join(dir, 'PS_LibreAcces_Personne_activite_202606101208.txt')));
    console.log(await generateFiness(establishments, path.join(dir, 'etalab-cs1100507-stock-20260512-0339.csv')));
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
