/**
 * Synthetic national BAN (`adresses-france.csv.gz`) in the real 23-column layout, for the load
 * benchmark: addresses spread over the real communes in proportion to their population (Paris,
 * Lyon, Marseille by arrondissement, as the BAN does), sorted by commune like the real file,
 * realistic field lengths (≈ 150 bytes a row), one name in 500 holding a quoted `;`, pipe-separated
 * parcels, x/y as metres. Positions are synthetic: each commune owns one cell of a grid over
 * France (cellOf), so bench IRIS/QPV polygons can be built from the same grid.
 *
 *   npx tsx bench/ban/generate.ts <rows=26000000> <out=/tmp/dotation-bench-ban/adresses-france.csv.gz>
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { readPackageArray } from '../../pipelines/cog/embedded';

export const HEADER =
  'id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;certification_commune;cad_parcelles';

export interface BenchCommune {
  code: string;
  nom: string;
  cp: string;
  population: number;
  departement: string;
}

/** Communes and arrondissements carrying addresses in the BAN (PLM: arrondissements only), in code order. */
export function benchCommunes(): BenchCommune[] {
  type C = { code: string; nom: string; type: string; codesPostaux?: string[]; population?: number; departement?: string; zone?: string };
  const all = readPackageArray('communes') as C[];
  const plm = new Set(['75056', '69123', '13055']);
  return all
    .filter((c) => (c.type === 'commune-actuelle' && !plm.has(c.code)) || c.type === 'arrondissement-municipal')
    .filter((c) => c.departement && c.zone !== 'com')
    .map((c) => ({
      code: c.code,
      nom: c.nom,
      cp: c.codesPostaux?.[0] ?? '00000',
      population: Math.max(c.population ?? 50, 50),
      departement: c.departement!,
    }))
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** Grid cell (lon0, lat0, size in degrees) of the commune at `index`: 200 columns over France. */
export function cellOf(index: number): { lon0: number; lat0: number; size: number } {
  const size = 0.05;
  return { lon0: -5 + (index % 280) * size, lat0: 41.3 + Math.floor(index / 280) * size, size };
}

const TYPES = ['Rue', 'Rue', 'Rue', 'Avenue', 'Chemin', 'Impasse', 'Allée', 'Route', 'Place', 'Boulevard', 'Lieu-dit', 'Résidence'];
const NAMES = [
  'de la République',
  'Victor Hugo',
  'des Écoles',
  'du Général de Gaulle',
  'Jean Jaurès',
  'de la Gare',
  'des Tilleuls',
  'du Moulin',
  'Pasteur',
  'de l’Église',
  'des Lilas',
  'du Stade',
  'de la Mairie',
  'Saint-Exupéry',
  'des Acacias',
  'du Château',
  'de Verdun',
  'des Vignes',
  'Anatole France',
  'de Bretagne',
  'des Peupliers',
  'du 8 Mai 1945',
  'Jules Ferry',
  'des Prés',
  'de la Fontaine',
  'du Bois Joli',
  'Louis Pasteur',
];
const POS = ['entrée', 'entrée', 'entrée', 'bâtiment', 'parcelle', 'segment', 'cage d’escalier'];
const SRC = ['commune', 'commune', 'cadastre', 'arcep', 'laposte', 'insee', 'sdis', 'inconnue'];

/** Deterministic PRNG (mulberry32): the same rows for the same size. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const upper = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[’']/g, ' ')
    .toUpperCase();

export async function generate(rows: number, out: string, level = 6): Promise<{ rows: number; bytes: number; gzBytes: number }> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const communes = benchCommunes();
  const total = communes.reduce((s, c) => s + c.population, 0);
  const rand = rng(rows);
  const gz = zlib.createGzip({ level, chunkSize: 1 << 20 });
  const file = fs.createWriteStream(out);
  gz.pipe(file);
  let written = 0;
  let bytes = 0;
  let buf = HEADER + '\n';
  const push = async () => {
    bytes += Buffer.byteLength(buf);
    if (!gz.write(buf)) await once(gz, 'drain');
    buf = '';
  };
  let carry = 0;
  for (const [i, c] of communes.entries()) {
    const exact = (c.population / total) * rows + carry;
    let n = Math.floor(exact);
    carry = exact - n;
    if (i === communes.length - 1) n = rows - written;
    const cell = cellOf(i);
    const nomUp = upper(c.nom);
    const streets = Math.max(1, Math.ceil(n / 25));
    for (let k = 0; k < n; k++) {
      const s = k % streets;
      const voie = (1000 + s).toString().padStart(4, '0');
      const numero = Math.floor(k / streets) + 1;
      const rep = rand() < 0.05 ? (rand() < 0.7 ? 'bis' : 'ter') : '';
      let nom = `${TYPES[s % TYPES.length]} ${NAMES[(s * 7) % NAMES.length]}`;
      if (rand() < 0.002) nom = `"${nom}; Ty Guen"`;
      const lon = (cell.lon0 + rand() * cell.size).toFixed(5);
      const lat = (cell.lat0 + rand() * cell.size).toFixed(5);
      const x = (100000 + rand() * 1000000).toFixed(2);
      const y = (6000000 + rand() * 1100000).toFixed(2);
      const cad =
        rand() < 0.6
          ? `${c.code}000A${String.fromCharCode(65 + (s % 26))}${String(numero).padStart(4, '0')}${rand() < 0.1 ? `|${c.code}000AB0001` : ''}`
          : '';
      buf +=
        `${c.code}_${voie}_${String(numero).padStart(5, '0')}${rep ? `_${rep}` : ''};${c.code}_${voie};${numero};${rep};${nom};${c.cp};${c.code};${c.nom};;;${x};${y};${lon};${lat};` +
        `${POS[k % POS.length]};;;${nomUp};${upper(nom).replace(/"/g, '').replace(/;/g, '').slice(0, 32)};${SRC[k % SRC.length]};${SRC[(k + 3) % SRC.length]};${k % 3 === 0 ? 1 : 0};${cad}\n`;
      written++;
      if (buf.length > 1 << 16) await push();
    }
  }
  await push();
  gz.end();
  await once(file, 'close');
  return { rows: written, bytes, gzBytes: fs.statSync(out).size };
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 26_000_000);
  const out = process.argv[3] ?? '/tmp/dotation-bench-ban/adresses-france.csv.gz';
  generate(rows, out).then((r) =>
    console.log(`${r.rows} rows, ${(r.bytes / 1e6).toFixed(0)} MB, ${(r.gzBytes / 1e6).toFixed(0)} MB gz → ${out}`),
  );
}
