/**
 * Synthetic national inputs of the socle sources (issue 14), each in the exact layout its pipeline
 * reads — the layouts of the fixtures (test/fixtures/<source>/README.md, headers read from the
 * fixture files themselves where they hold one) — written as streams, spread over the communes of
 * the referential (embedded COG) in proportion to population. Every identifier, name and number is
 * invented. The national sizes (scale 1) are estimates stated beside each constant.
 *
 *   npx tsx bench/socle/generate.ts [--scale 1] [--dir /tmp/dotation-bench-socle] [source…]
 *
 * Sources: associations, marches-publics, permis-construire, education, elus, urbanisme (santé: bench/sante/generate.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readPackageArray } from '../../pipelines/cog/embedded';
import { zipFiles } from '../parsers/harness';
import {
  cellFor,
  communes,
  communesActuelles,
  epcis,
  isoDay,
  kept,
  pad,
  pointIn,
  rng,
  weighted,
  Writer,
  type SocleCommune,
} from './common';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

/**
 * National sizes (scale 1). Sources of the estimates:
 * - RNA: ≈ 2 million rows (issue 14); the waldec archive of 2026-09 is 1.46 GB once unzipped
 *   (pipelines/associations/source.ts evidence), ≈ 700 bytes a line: long `objet` texts.
 * - DECP: 1.5 million records in decp-global.json (the brief of this benchmark; ≈ 1 GB upstream).
 * - Sitadel: the monthly list creating housing is ≈ 830 MB (test/fixtures/permis-construire/README.md);
 *   at ≈ 240 bytes a generated line, 3.4 million lines.
 * - Annuaire de l'éducation ≈ 69,000 establishments; IPS ≈ 34,000 écoles, 7,000 collèges, 4,000 lycées.
 * - Élus: one maire per commune, a council of the legal size (CGCT L2121-2) per commune (≈ 500,000 lines, 65 MB upstream).
 * - GPU: one municipality feature per commune, one document per PLU/PLUi/CC, 500,000 zone_urba polygons (an assumption:
 *   no count of the national layer was found).
 */
export const NATIONAL = {
  waldec: 2_000_000,
  import: 500_000,
  decp: 1_500_000,
  sitadel: 3_400_000,
  annuaire: 69_000,
  zones: 500_000,
};

/** A national size times the scale (at least 1). */
export const scaled = (x: number, scale: number) => Math.max(1, Math.round(x * scale));
const upper = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[’']/g, ' ')
    .toUpperCase();

/** Spreads `total` over `items` in proportion to `weight` (largest remainders kept as a running carry). */
function spread<T>(items: T[], weight: (t: T) => number, total: number): number[] {
  const sum = items.reduce((s, it) => s + weight(it), 0);
  let carry = 0;
  let given = 0;
  return items.map((it, i) => {
    const exact = (weight(it) / sum) * total + carry;
    let k = Math.floor(exact);
    carry = exact - k;
    if (i === items.length - 1) k = total - given;
    given += k;
    return k;
  });
}

const TYPES_VOIE = ['RUE', 'RUE', 'AV', 'CHE', 'IMP', 'PL', 'BD', 'ALL', 'RTE'];
const VOIES = [
  'DE LA REPUBLIQUE',
  'VICTOR HUGO',
  'DES ECOLES',
  'JEAN JAURES',
  'DE LA GARE',
  'DES TILLEULS',
  'DU MOULIN',
  'PASTEUR',
  'DE L EGLISE',
  'DES LILAS',
];
const WORDS = [
  'promouvoir',
  'la pratique',
  'du sport',
  'de la culture',
  'auprès des jeunes',
  'et des familles',
  'organiser des manifestations',
  'soutenir les actions',
  'de solidarité',
  'dans la commune',
  'et ses environs',
  'favoriser les échanges',
  'entre les habitants',
  'défendre le patrimoine',
  'local et naturel',
];
const NOMS = [
  'AMICALE',
  'COMITÉ DES FÊTES',
  'CLUB',
  'ASSOCIATION SPORTIVE',
  'UNION',
  'AMIS',
  'FOYER RURAL',
  'ÉCOLE DE MUSIQUE',
  'JUDO CLUB',
  'APE',
];

// ---------------------------------------------------------------- associations (RNA)

/** The 39 columns of the waldec files and the 24 of the import files (test/fixtures/associations/README.md). */
const WALDEC =
  'id;id_ex;siret;rup_mi;gestion;date_creat;date_decla;date_publi;date_disso;nature;groupement;titre;titre_court;objet;objet_social1;objet_social2;adrs_complement;adrs_numvoie;adrs_repetition;adrs_typevoie;adrs_libvoie;adrs_distrib;adrs_codeinsee;adrs_codepostal;adrs_libcommune;adrg_declarant;adrg_complemid;adrg_complemgeo;adrg_libvoie;adrg_distrib;adrg_codepostal;adrg_achemine;adrg_pays;dir_civilite;siteweb;publiweb;observation;position;maj_time'.split(
    ';',
  );
const IMPORT =
  'id;id_ex;siret;gestion;date_creat;date_publi;nature;groupement;titre;objet;objet_social1;objet_social2;adr1;adr2;adr3;adrs_codepostal;libcom;adrs_codeinsee;dir_civilite;siteweb;observation;position;rup_mi;maj_time'.split(
    ';',
  );
/** Alsace-Moselle keeps its own registers: no RNA file (pipelines/associations/source.ts). */
const NO_RNA = new Set(['57', '67', '68']);

export interface RnaOptions {
  /** YYYYMMDD of the archive (its name gives the edition). */
  date?: string;
  /** Communes whose first association is renamed (a republication touching a few communes). */
  changed?: Set<string>;
}

/**
 * One RNA archive (`rna_<registre>_<date>.zip`, one `;` CSV per département, UTF-8) of `rows`
 * associations spread over the communes by population; 15 % dissolved, one in 50 without
 * `adrs_codeinsee` (placed by its postcode when one commune alone has it, else quarantined), a theme of the DILA nomenclature, long `objet` texts.
 */
export async function generateRna(
  registre: 'waldec' | 'import',
  rows: number,
  dir: string,
  opts: RnaOptions = {},
): Promise<{ file: string; rows: number; csvBytes: number; zipBytes: number }> {
  const date = opts.date ?? '20261001';
  const header = registre === 'waldec' ? WALDEC : IMPORT;
  const all = communes().filter((c) => !NO_RNA.has(c.departement));
  const deps = [...new Set(all.map((c) => c.departement))];
  const perDep = spread(deps, (d) => all.filter((c) => c.departement === d).reduce((s, c) => s + c.population, 0), rows);
  const entries: Record<string, string> = {};
  let csvBytes = 0;
  let serial = 0;
  const renamed = new Set<string>();
  for (const [di, dep] of deps.entries()) {
    const name = `rna_${registre}_${date}_dpt_${dep}.csv`;
    const file = path.join(dir, name);
    const w = new Writer(file);
    await w.write(header.join(';') + '\r\n');
    // One PRNG per département and register: the same lines for the same arguments, whatever the date.
    const r = rng((registre === 'waldec' ? 1 : 2) * 1000 + di);
    const pick = weighted(
      all.filter((c) => c.departement === dep),
      (c) => c.population,
    );
    for (let k = 0; k < perDep[di]; k++) {
      serial++;
      const c = pick(r());
      const dissolved = r() < 0.15;
      const family = 1 + Math.floor(r() * 24);
      const theme = r() < 0.05 ? '000000' : `${pad(family, 3)}${pad(5 * Math.floor(r() * 12), 3)}`;
      const words = 8 + Math.floor(r() * 40);
      let objet = '';
      for (let i = 0; i < words; i++) objet += (i ? ' ' : '') + WORDS[Math.floor(r() * WORDS.length)];
      const noCode = r() < 0.02;
      let titre = `${NOMS[Math.floor(r() * NOMS.length)]} ${upper(c.nom)} ${serial % 97}`;
      // The first association of a changed commune that names its commune (one placed by its postcode may be quarantined).
      const rename = !!opts.changed?.has(c.code) && !noCode && !renamed.has(c.code);
      if (rename) {
        renamed.add(c.code);
        titre += ' (NOUVEAU NOM)';
      }
      if (serial % 1000 === 0) titre = `"${titre}; SECTION ${serial % 7}"`; // a quoted name holding the separator
      const creat = isoDay(r, 1950, 2026);
      const v: Record<string, string> = {
        id: registre === 'waldec' ? `W${pad(serial, 9)}` : pad(serial, 10),
        id_ex: '',
        siret: r() < 0.1 ? `${pad(300000000 + serial, 9)}00017` : '',
        rup_mi: '',
        gestion: `${dep.padStart(3, '0')}P`,
        date_creat: creat,
        date_decla: '0001-01-01',
        date_publi: creat,
        date_disso: dissolved ? isoDay(r, 2000, 2026) : '0001-01-01',
        nature: 'D',
        groupement: 'S',
        titre,
        titre_court: '',
        objet,
        objet_social1: theme,
        objet_social2: r() < 0.3 ? `${pad(1 + Math.floor(r() * 24), 3)}005` : '000000',
        adrs_complement: r() < 0.1 ? 'MAIRIE' : '',
        adrs_numvoie: String(1 + Math.floor(r() * 120)),
        adrs_repetition: '',
        adrs_typevoie: TYPES_VOIE[Math.floor(r() * TYPES_VOIE.length)],
        adrs_libvoie: VOIES[Math.floor(r() * VOIES.length)],
        adrs_distrib: '',
        adrs_codeinsee: noCode ? '' : c.code,
        adrs_codepostal: c.cp,
        adrs_libcommune: c.nom,
        adrg_pays: 'FRANCE',
        publiweb: '0',
        position: dissolved ? 'D' : 'A',
        maj_time: `${isoDay(r, 2010, 2026)} 10:11:12`,
      };
      v.adr1 = `${v.adrs_numvoie} ${v.adrs_typevoie} ${v.adrs_libvoie}`;
      v.libcom = upper(c.nom);
      if (rename) v.maj_time = `${date.slice(0, 4)}-${date.slice(4, 6)}-01 09:00:00`;
      await w.write(header.map((h) => v[h] ?? '').join(';') + '\r\n');
    }
    csvBytes += await w.close();
    entries[name] = file;
  }
  const file = path.join(dir, `rna_${registre}_${date}.zip`);
  await zipFiles(file, entries);
  for (const f of Object.values(entries)) fs.rmSync(f);
  return { file, rows: serial, csvBytes, zipBytes: fs.statSync(file).size };
}

// ---------------------------------------------------------------- marchés publics (DECP)

const CPV = ['45000000', '45233140', '77310000', '55523100-3', '90511000', '71000000', '30192000', '34144900', '79340000', '50700000'];
const PROCEDURES = [
  'Procédure adaptée',
  'Procédure adaptée',
  "Appel d'offres ouvert",
  'Marché passé sans publicité ni mise en concurrence préalable',
  'Procédure avec négociation',
];
const OBJETS = [
  'Travaux de voirie',
  'Entretien des espaces verts',
  'Fourniture de repas pour la restauration scolaire',
  'Collecte des déchets ménagers',
  "Mission de maîtrise d'œuvre pour la rénovation de l'école",
  'Fourniture de matériel informatique',
  'Location et maintenance de photocopieurs',
  'Travaux de rénovation énergétique de la mairie',
];

/**
 * decp-global.json in the consolidation's envelope (`{"marches": {"marche": [...], "contrat-concession":
 * [...]}}`, indented by 2 as uploaded; test/fixtures/marches-publics/README.md), 2022 record format:
 * buyers are communes (SIREN of the referential, by population, 35 %), EPCI (15 %) and other buyers
 * (50 %: SIRENs of no commune); place of execution by code commune, postcode or département; 3 %
 * "NC" amounts; one record in 50 a concession.
 */
export async function generateDecp(records: number, file: string): Promise<{ file: string; records: number; bytes: number }> {
  const r = rng(14);
  const comm = communesActuelles().filter((c) => c.siren);
  const pickCommune = weighted(comm, (c) => c.population ** 0.8);
  const ep = epcis();
  const pickEpci = weighted(ep, (e) => e.populationTotale ?? 1000);
  const place = weighted(communes(), (c) => c.population);
  const w = new Writer(file);
  const concessions: string[] = [];
  const indent = (s: string) => s.replace(/^/gm, '      ');
  await w.write('{\n  "marches": {\n    "marche": [\n');
  let marches = 0;
  for (let i = 0; i < records; i++) {
    const x = r();
    const siren = x < 0.35 ? pickCommune(r()).siren! : x < 0.5 ? pickEpci(r()).code : `13${pad(Math.floor(r() * 1e7), 7)}`;
    const siret = `${siren}${pad(13 + Math.floor(r() * 20), 5)}`;
    const lieu = place(r());
    const y = r();
    const lieuExecution =
      y < 0.5
        ? { code: lieu.code, typeCode: 'Code commune' }
        : y < 0.8
          ? { code: lieu.cp, typeCode: 'Code postal' }
          : { code: lieu.departement, typeCode: 'Code département' };
    const date = isoDay(r, 2019, 2026);
    const id = `${date.slice(0, 4)}${pad(i, 7)}`;
    const montant = r() < 0.03 ? 'NC' : Math.round(Math.exp(8 + r() * 8));
    const titulaires = Array.from({ length: r() < 0.2 ? 2 : 1 }, () => ({
      titulaire: { typeIdentifiant: 'SIRET', id: `${pad(400000000 + Math.floor(r() * 4e8), 9)}00011` },
    }));
    if (i % 50 === 49) {
      const rec = {
        id,
        autoriteConcedante: { id: siret },
        nature: 'Délégation de service public',
        objet: "Délégation du service public de l'eau potable",
        procedure: 'Procédure négociée ouverte',
        lieuExecution,
        dureeMois: 144,
        dateSignature: date,
        dateDebutExecution: date,
        valeurGlobale: montant,
        montantSubventionPublique: 0,
        datePublicationDonnees: date,
        concessionnaires: [{ concessionnaire: titulaires[0].titulaire }],
        modifications: [],
        _type: 'Contrat de concession',
        uid: `${siret}${id}`,
      };
      concessions.push(indent(JSON.stringify(rec, null, 2)));
      continue;
    }
    const rec = {
      id,
      acheteur: { id: siret },
      nature: 'Marché',
      objet: OBJETS[Math.floor(r() * OBJETS.length)],
      codeCPV: CPV[Math.floor(r() * CPV.length)],
      procedure: PROCEDURES[Math.floor(r() * PROCEDURES.length)],
      lieuExecution,
      dureeMois: 1 + Math.floor(r() * 48),
      dateNotification: date,
      datePublicationDonnees: date,
      montant,
      formePrix: r() < 0.5 ? 'Ferme' : 'Révisable',
      titulaires,
      modifications: [],
      _type: 'Marché',
      uid: `${siret}${id}`,
      source: 'data.gouv.fr_aife',
    };
    await w.write((marches++ ? ',\n' : '') + indent(JSON.stringify(rec, null, 2)));
  }
  await w.write('\n    ],\n    "contrat-concession": [\n');
  for (let i = 0; i < concessions.length; i += 1000) await w.write((i ? ',\n' : '') + concessions.slice(i, i + 1000).join(',\n'));
  await w.write('\n    ]\n  }\n}\n');
  const bytes = await w.close();
  return { file, records, bytes };
}

// ---------------------------------------------------------------- permis de construire (Sitadel)

/**
 * The monthly list of authorisations creating housing (`Liste-des-autorisations-durbanisme-creant-des-logements.<YYYY-MM>.csv`):
 * the fixture's two header lines (long labels, then column codes), every field quoted; authorisations
 * 2013–2026 over the communes actuelles by population (Paris, Lyon, Marseille whole, as Sitadel gives them).
 */
export async function generateSitadel(
  rows: number,
  dir: string,
  month = '2026-08',
): Promise<{ file: string; rows: number; bytes: number }> {
  const fixture = fs.readFileSync(
    path.join(FIXTURES, 'permis-construire', 'Liste-des-autorisations-durbanisme-creant-des-logements.2026-08.csv'),
    'utf8',
  );
  const [labels, codes] = fixture.split('\n');
  const cols = codes.slice(1, -1).split('";"');
  const file = path.join(dir, `Liste-des-autorisations-durbanisme-creant-des-logements.${month}.csv`);
  const w = new Writer(file);
  await w.write(`${labels}\n${codes}\n`);
  const r = rng(8);
  const comm = communesActuelles();
  const pick = weighted(comm, (c) => c.population);
  const counter = new Map<string, number>();
  const q = (s: string) => `"${s}"`;
  for (let i = 0; i < rows; i++) {
    const c = pick(r());
    const k = (counter.get(c.code) ?? 0) + 1;
    counter.set(c.code, k);
    const aut = isoDay(r, 2013, 2026);
    const started = r() < 0.7;
    const collective = r() < 0.25;
    const units = collective ? 2 + Math.floor(r() * 60) : 1 + (r() < 0.1 ? 1 : 0);
    const legal = collective || r() < 0.1;
    const v: Record<string, string> = {
      REG_CODE: '',
      DEP_CODE: c.departement,
      COMM: c.code,
      TYPE_DAU: r() < 0.9 ? 'PC' : 'DP',
      NUM_DAU: `0${c.code}${aut.slice(2, 4)}${String.fromCharCode(65 + (Math.floor(k / 10000) % 26))}${pad(k % 10000, 4)}`,
      ETAT_DAU: started ? '3' : '2',
      DATE_REELLE_AUTORISATION: aut,
      DATE_REELLE_DOC: started ? aut.replace(/^\d{4}/, (y) => String(Math.min(Number(y) + 1, 2026))) : '',
      DPC_AUT: aut.slice(0, 7),
      AN_DEPOT: aut.slice(0, 4),
      CAT_DEM: legal ? '30' : '10',
      DENOM_DEM: legal ? `SCCV LES JARDINS ${k % 500}` : '',
      SIREN_DEM: legal ? pad(800000000 + (k % 99999999), 9) : '',
      ADR_NUM_TER: String(1 + Math.floor(r() * 150)),
      ADR_TYPEVOIE_TER: TYPES_VOIE[Math.floor(r() * TYPES_VOIE.length)],
      ADR_LIBVOIE_TER: VOIES[Math.floor(r() * VOIES.length)],
      ADR_LOCALITE_TER: upper(c.nom),
      ADR_CODPOST_TER: c.codesPostaux?.[0] ?? '',
      SEC_CADASTRE1: 'AB',
      NUM_CADASTRE1: pad(1 + Math.floor(r() * 999), 4),
      SUPERFICIE_TERRAIN: String(200 + Math.floor(r() * 3000)),
      NATURE_PROJET_DECLAREE: '1',
      DESTINATION_PRINCIPALE: '1',
      NB_LGT_TOT_CREES: String(units),
      NB_LGT_IND_CREES: collective ? '0' : String(units),
      NB_LGT_COL_CREES: collective ? String(units) : '0',
      SURF_HAB_CREEE: String(units * 70 + Math.floor(r() * 60)),
    };
    await w.write(cols.map((h) => q(v[h] ?? '')).join(';') + '\n');
  }
  return { file, rows, bytes: await w.close() };
}

// ---------------------------------------------------------------- éducation

const departementNames = () => new Map((readPackageArray('departements') as { code: string; nom: string }[]).map((d) => [d.code, d.nom]));

/** Header and first line of a genuine file of test/fixtures/education/real (unquoted `;` lines). */
function template(file: string): { header: string[]; line: string[]; bom: string } {
  const text = fs.readFileSync(path.join(FIXTURES, 'education', 'real', file), 'utf8');
  const bom = text.startsWith('\ufeff') ? '\ufeff' : '';
  const [h, l] = text.replace(/^\ufeff/, '').split(/\r?\n/);
  return { header: h.split(';'), line: l.split(';'), bom };
}

const NATURES: [string, string, string, number][] = [
  ['Ecole', '101', 'ECOLE MATERNELLE', 0.3],
  ['Ecole', '151', 'ECOLE DE NIVEAU ELEMENTAIRE', 0.45],
  ['Collège', '340', 'COLLEGE', 0.11],
  ['Lycée', '300', 'LYCEE ENSEIGNEMT GENERAL ET TECHNOLOGIQUE', 0.05],
  ['Lycée', '320', 'LYCEE PROFESSIONNEL', 0.03],
  ['Information et orientation', '810', "CENTRE D'INFORMATION ET D'ORIENTATION", 0.06],
];

/**
 * The annuaire de l'éducation (`fr-en-annuaire-education.csv`, the genuine file's 72 columns, its
 * first line as template) and the IPS files of écoles, collèges and lycées (`fr-en-ips-*-ap2022.csv`)
 * for the same invented UAIs; establishments over the communes by population.
 */
export async function generateEducation(establishments: number, dir: string): Promise<{ files: string[]; rows: number; bytes: number }> {
  const a = template('fr-en-annuaire-education.csv');
  const ips = {
    ecoles: template('fr-en-ips-ecoles-ap2022.csv'),
    colleges: template('fr-en-ips-colleges-ap2022.csv'),
    lycees: template('fr-en-ips-lycees-ap2022.csv'),
  };
  const files = {
    annuaire: path.join(dir, 'fr-en-annuaire-education.csv'),
    ecoles: path.join(dir, 'fr-en-ips-ecoles-ap2022.csv'),
    colleges: path.join(dir, 'fr-en-ips-colleges-ap2022.csv'),
    lycees: path.join(dir, 'fr-en-ips-lycees-ap2022.csv'),
  };
  const w = new Writer(files.annuaire);
  await w.write(a.bom + a.header.join(';') + '\n');
  const wi = {
    ecoles: new Writer(files.ecoles),
    colleges: new Writer(files.colleges),
    lycees: new Writer(files.lycees),
  };
  for (const k of Object.keys(wi) as (keyof typeof wi)[]) await wi[k].write(ips[k].bom + ips[k].header.join(';') + '\n');
  const at = (h: string[]) => Object.fromEntries(h.map((x, i) => [x, i]));
  const ia = at(a.header);
  const r = rng(33);
  const pick = weighted(communes(), (c) => c.population);
  const pickNature = weighted(NATURES, (x) => x[3]);
  const depName = departementNames();
  let rows = 0;
  for (let i = 0; i < establishments; i++) {
    const c = pick(r());
    const [type, codeNature, nature] = pickNature(r());
    // UAI: 3 characters of the département (Corsica 620 / 720, as the annuaire writes them), 4 digits, a letter.
    const depUai = c.departement === '2A' ? '620' : c.departement === '2B' ? '720' : c.departement.padStart(3, '0');
    const uai = `${depUai}${pad(i % 10000, 4)}${String.fromCharCode(65 + (Math.floor(i / 10000) % 26))}`;
    const prive = r() < 0.15;
    const [lon, lat] = pointIn(c, r);
    const v = [...a.line];
    const set = (h: string, x: string) => {
      if (ia[h] !== undefined) v[ia[h]] = x;
    };
    set('Identifiant_de_l_etablissement', uai);
    set('Nom_etablissement', `${type} ${VOIES[i % VOIES.length].toLowerCase()} ${i % 97}`);
    set('Type_etablissement', type);
    set('Statut_public_prive', prive ? 'Privé' : 'Public');
    set('Adresse_1', `${1 + (i % 90)} rue ${VOIES[i % VOIES.length].toLowerCase()}`);
    set('Adresse_3', `${c.cp} ${upper(c.nom)}`);
    set('Code_postal', c.cp);
    set('Code_commune', c.code);
    set('Nom_commune', c.nom);
    set('Code_departement', c.departement.padStart(3, '0'));
    set('Mail', `ce.${uai}@ac-exemple.fr`);
    set('SIREN_SIRET', '');
    set('position', `${lat.toFixed(6)}, ${lon.toFixed(6)}`);
    set('latitude', lat.toFixed(6));
    set('longitude', lon.toFixed(6));
    set('coordX_origine', '');
    set('coordY_origine', '');
    set('epsg_origine', '');
    set('code_nature', codeNature);
    set('libelle_nature', nature);
    set('Type_contrat_prive', prive ? 'CONTRAT D ASSOCIATION TOUTES CLASSES' : 'SANS OBJET');
    set('Code_type_contrat_prive', prive ? '30' : '99');
    set('etablissement_mere', '');
    await w.write(v.join(';') + '\n');
    rows++;
    const kind = type === 'Ecole' ? 'ecoles' : type === 'Collège' ? 'colleges' : type === 'Lycée' ? 'lycees' : null;
    if (kind && r() < 0.66) {
      const t = ips[kind];
      const it = at(t.header);
      const u = [...t.line];
      const put = (h: string, x: string) => {
        if (it[h] !== undefined) u[it[h]] = x;
      };
      const ipsValue = (70 + r() * 70).toFixed(1);
      put('code_du_departement', c.departement.padStart(3, '0'));
      put('departement', upper(depName.get(c.departement) ?? ''));
      put('uai', uai);
      put('nom_de_l_etablissment', upper(`${type} ${i % 97}`));
      put('code_insee_de_la_commune', c.code);
      put('nom_de_la_commune', upper(c.nom));
      put('secteur', prive ? 'privé sous contrat' : 'public');
      put('effectifs', `${100 + Math.floor(r() * 800)}.0`);
      put('ips', ipsValue);
      put('ecart_type_de_l_ips', (20 + r() * 15).toFixed(1));
      put('ips_voie_gt', ipsValue);
      put('ips_ensemble_gt_pro', ipsValue);
      await wi[kind].write(u.join(';') + '\n');
    }
  }
  let bytes = await w.close();
  for (const k of Object.keys(wi) as (keyof typeof wi)[]) bytes += await wi[k].close();
  return { files: Object.values(files), rows, bytes };
}

// ---------------------------------------------------------------- élus (Répertoire national des élus)

/** Council size by population (CGCT art. L2121-2). */
function councilSize(pop: number): number {
  const steps: [number, number][] = [
    [100, 7],
    [500, 11],
    [1500, 15],
    [2500, 19],
    [3500, 23],
    [5000, 27],
    [10000, 29],
    [20000, 33],
    [30000, 35],
    [40000, 39],
    [50000, 43],
    [60000, 45],
    [80000, 49],
    [100000, 53],
    [150000, 55],
    [200000, 59],
    [250000, 61],
    [300000, 65],
  ];
  return steps.find(([p]) => pop < p)?.[1] ?? 69;
}

/**
 * The maires file (`elus-maires-mai.csv`, April 2026 layout of the genuine fixture: `;`, unquoted,
 * DD/MM/YYYY) and the conseillers municipaux file (`elus-conseillers-municipaux-cm.csv`, May 2026
 * layout of the fixture: quoted, ISO dates, codes without leading zeros), one maire and a council
 * of the legal size per commune actuelle (`scale` < 1: that fraction of the communes).
 */
export async function generateElus(dir: string, scale = 1): Promise<{ files: string[]; rows: number; bytes: number }> {
  const mairesHeader = fs.readFileSync(path.join(FIXTURES, 'elus', 'real', 'elus-maires-mai.csv'), 'utf8').split(/\r?\n/)[0];
  const cmHeader = fs.readFileSync(path.join(FIXTURES, 'elus', 'elus-conseillers-municipaux-cm.csv'), 'utf8').split(/\r?\n/)[0];
  const depName = departementNames();
  const files = [path.join(dir, 'elus-maires-mai.csv'), path.join(dir, 'elus-conseillers-municipaux-cm.csv')];
  const wm = new Writer(files[0]);
  const wc = new Writer(files[1]);
  await wm.write(mairesHeader + '\n');
  await wc.write(cmHeader + '\r\n');
  const r = rng(5);
  const fr = (iso: string) => iso.split('-').reverse().join('/');
  const unzero = (s: string) => s.replace(/^0+(?=\d)/, '');
  let rows = 0;
  for (const c of communesActuelles()) {
    if (!kept(c.code, scale)) continue;
    const dn = depName.get(c.departement) ?? '';
    const size = councilSize(c.population);
    for (let k = 0; k < size; k++) {
      const sexe = r() < 0.5 ? 'F' : 'M';
      const nom = `NOM-FICTIF-${rows % 100000}`;
      const prenom = sexe === 'F' ? 'Camille' : 'Dominique';
      const naissance = isoDay(r, 1940, 2004);
      const fonction = k === 0 ? 'Maire' : k <= Math.min(8, size / 4) ? `${k}${k === 1 ? 'er' : 'e'} adjoint au maire` : '';
      if (k === 0)
        await wm.write(
          [
            c.departement,
            dn,
            '',
            '',
            c.code,
            c.nom,
            nom,
            prenom,
            sexe,
            fr(naissance),
            '33',
            'Cadre de la fonction publique',
            '15/03/2026',
            '21/03/2026',
          ].join(';') + '\n',
        );
      await wc.write(
        [
          unzero(c.departement),
          `"${dn}"`,
          '',
          '',
          unzero(c.code),
          `"${c.nom}"`,
          `"${nom}"`,
          `"${prenom}"`,
          `"${sexe}"`,
          naissance,
          '33',
          '"Cadre de la fonction publique"',
          '2026-03-15',
          fonction ? `"${fonction}"` : '',
          fonction ? '2026-03-21' : '',
          '"FR"',
        ].join(';') + '\r\n',
      );
      rows++;
    }
  }
  return { files, rows, bytes: (await wm.close()) + (await wc.close()) };
}

// ---------------------------------------------------------------- urbanisme (Géoportail de l'Urbanisme)

/** A GetFeature answer as GeoServer writes it (test/fixtures/urbanisme/make-fixtures.ts): features, then the collection's own members. */
async function wfsAnswer(
  file: string,
  features: AsyncIterable<string> | Iterable<string>,
  timeStamp: string,
): Promise<{ count: number; bytes: number }> {
  const w = new Writer(file);
  await w.write('{"type":"FeatureCollection","features":[\n');
  let count = 0;
  for await (const f of features) await w.write((count++ ? ',\n' : '') + f);
  await w.write(`\n],"totalFeatures":${count},"numberMatched":${count},"numberReturned":${count},"timeStamp":"${timeStamp}","crs":null}\n`);
  return { count, bytes: await w.close() };
}

const md5ish = (s: string) => crypto.createHash('md5').update(s).digest('hex');

/**
 * The three WFS layers of the GPU as GeoJSON answers (`wfs_du-municipality.json`,
 * `wfs_du-document.json`, `wfs_du-zone_urba.json`): every commune actuelle in municipality (15 %
 * under the RNU); a PLUi for 35 % of the EPCI (their members), a PLU (55 %) or a carte communale
 * (15 %) for the other communes; `zones` zoning polygons (24 vertices, inside the commune's grid
 * cell) over the communes with a PLU/PLUi by population.
 */
export async function generateUrbanisme(zones: number, dir: string, scale = 1): Promise<{ files: string[]; rows: number; bytes: number }> {
  const r = rng(21);
  const ts = '2026-08-14T07:31:40.002Z';
  const comm = communesActuelles().filter((c) => kept(c.code, scale));
  const inScope = new Set(comm.map((c) => c.code));
  const plui = epcis().filter(() => r() < 0.35);
  const byPlui = new Map<string, string>();
  for (const e of plui) for (const m of e.membres) if (inScope.has(m.code)) byPlui.set(m.code, e.code);
  const doc = new Map<string, { du: string; partition: string; date: string }>();
  const rnu = new Set<string>();
  for (const c of comm) {
    if (byPlui.has(c.code)) continue;
    const x = r();
    if (x < 0.55) doc.set(c.code, { du: 'PLU', partition: `DU_${c.code}`, date: isoDay(r, 2005, 2026).replace(/-/g, '') });
    else if (x < 0.7) doc.set(c.code, { du: 'CC', partition: `DU_${c.code}`, date: isoDay(r, 2000, 2026).replace(/-/g, '') });
    else rnu.add(c.code);
  }
  const files = ['municipality', 'document', 'zone_urba'].map((l) => path.join(dir, `wfs_du-${l}.json`));
  const feat = (layer: string, i: number, props: Record<string, unknown>, geometry: unknown = null) =>
    JSON.stringify({ type: 'Feature', id: `${layer}.${i}`, geometry, geometry_name: 'the_geom', properties: props });
  const m = await wfsAnswer(
    files[0],
    comm.map((c, i) =>
      feat('municipality', i + 1, { insee: c.code, name: upper(c.nom), is_rnu: rnu.has(c.code), is_deleted: false, is_coastline: false }),
    ),
    ts,
  );
  const docs: string[] = [];
  let gid = 0;
  const pluiDate = new Map<string, string>();
  for (const e of plui) {
    if (!e.membres.some((x) => inScope.has(x.code))) continue;
    const date = isoDay(r, 2015, 2026).replace(/-/g, '');
    pluiDate.set(e.code, date);
    const name = `${e.code}_PLUi_${date}`;
    docs.push(
      feat('document', ++gid, {
        gid,
        grid_name: e.code,
        grid_title: upper(e.nom),
        name,
        du_type: 'PLUi',
        gpu_doc_id: md5ish(name),
        gpu_status: 'document.production',
        gpu_timestamp: '2025-11-03T10:12:00Z',
        partition: `DU_${e.code}`,
      }),
    );
  }
  for (const c of comm) {
    const d = doc.get(c.code);
    if (!d) continue;
    const name = `${c.code}_${d.du}_${d.date}`;
    docs.push(
      feat('document', ++gid, {
        gid,
        grid_name: c.code,
        grid_title: upper(c.nom),
        name,
        du_type: d.du,
        gpu_doc_id: md5ish(name),
        gpu_status: 'document.production',
        gpu_timestamp: '2025-11-03T10:12:00Z',
        partition: d.partition,
      }),
    );
  }
  const dd = await wfsAnswer(files[1], docs, ts);
  // Zones: communes of the BAN grid (PLM cities by arrondissement have no cell of their own: left out) under a PLU or PLUi.
  const zoned = communes().filter((c) => inScope.has(c.code) && (byPlui.has(c.code) || doc.get(c.code)?.du === 'PLU'));
  const counts = spread(zoned, (c) => Math.sqrt(c.population), zones);
  const TYPES = ['U', 'U', 'AU', 'A', 'N'];
  function* zoneFeatures(): Generator<string> {
    let i = 0;
    for (const [k, c] of zoned.entries()) {
      const partition = byPlui.has(c.code) ? `DU_${byPlui.get(c.code)}` : `DU_${c.code}`;
      const date = byPlui.has(c.code) ? pluiDate.get(byPlui.get(c.code)!)! : doc.get(c.code)!.date;
      const cell = cellFor(c as SocleCommune);
      for (let z = 0; z < counts[k]; z++) {
        i++;
        const typezone = TYPES[Math.floor(r() * TYPES.length)];
        const cx = cell.lon0 + (0.1 + 0.8 * r()) * cell.size;
        const cy = cell.lat0 + (0.1 + 0.8 * r()) * cell.size;
        const rad = cell.size * (0.01 + 0.04 * r());
        const ring: [number, number][] = [];
        for (let v = 0; v < 24; v++) {
          const a = (2 * Math.PI * v) / 24;
          const rr = rad * (0.7 + 0.3 * r());
          ring.push([Number((cx + rr * Math.cos(a)).toFixed(6)), Number((cy + rr * Math.sin(a)).toFixed(6))]);
        }
        ring.push(ring[0]);
        yield feat(
          'zone_urba',
          i,
          {
            gid: 100000 + i,
            libelle: `${typezone}${z % 9}`,
            libelong: `Zone ${typezone}${z % 9}`,
            typezone,
            destdomi: typezone === 'U' ? '01' : '00',
            nomfic: `${partition}_reglement.pdf`,
            urlfic: `https://www.geoportail-urbanisme.gouv.fr/api/document/${md5ish(partition)}/files/${partition}_reglement.pdf`,
            insee: c.code,
            datappro: date,
            datvalid: date,
            idurba: partition,
            partition,
            gpu_doc_id: md5ish(partition),
          },
          { type: 'MultiPolygon', coordinates: [[ring]] },
        );
      }
    }
  }
  const z = await wfsAnswer(files[2], zoneFeatures(), ts);
  return { files, rows: m.count + dd.count + z.count, bytes: m.bytes + dd.bytes + z.bytes };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (k: string, d: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args.splice(i, 2)[1] : d;
  };
  const scale = Number(opt('--scale', '1'));
  const dir = opt('--dir', '/tmp/dotation-bench-socle');
  const only = args.length ? args : ['associations', 'marches-publics', 'permis-construire', 'education', 'elus', 'urbanisme'];
  fs.mkdirSync(dir, { recursive: true });
  (async () => {
    for (const s of only) {
      const t0 = Date.now();
      const out =
        s === 'associations'
          ? [
              await generateRna('waldec', scaled(NATIONAL.waldec, scale), dir),
              await generateRna('import', scaled(NATIONAL.import, scale), dir),
            ]
          : s === 'marches-publics'
            ? await generateDecp(scaled(NATIONAL.decp, scale), path.join(dir, 'decp-global.json'))
            : s === 'permis-construire'
              ? await generateSitadel(scaled(NATIONAL.sitadel, scale), dir)
              : s === 'education'
                ? await generateEducation(scaled(NATIONAL.annuaire, scale), dir)
                : s === 'elus'
                  ? await generateElus(dir, scale)
                  : s === 'urbanisme'
                    ? await generateUrbanisme(scaled(NATIONAL.zones, scale), dir, scale)
                    : null;
      if (!out) throw new Error(`unknown source ${s}`);
      console.log(s, ((Date.now() - t0) / 1000).toFixed(1), 's', JSON.stringify(out));
    }
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
