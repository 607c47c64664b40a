import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Pool } from 'pg';
import { z } from 'zod';
import { settings as currentSettings, Settings } from '../../config/settings';
import { sourceRegistry } from '../../config/sources';
import { pool } from '../db/pool';
import { COMMUNE_CODE } from '../communes/codes';
import { planFiles, SourceMeta } from '../packs/content';
import { parseCsv } from '../packs/format';
import { PackVersion, readManifestAsync, versionPath } from '../packs/store';
import { openZipEntry } from '../packs/zip';
import { SCDL_CATALOGUE_VERSION } from '../packs/catalogue';
import { DataGouvClient, DataGouvError, ClientOptions } from './datagouv';
import { decryptSecret, encryptSecret, publicationKey } from './secret';

/**
 * Publication of a commune's latest pack version to its data.gouv.fr organization:
 * one dataset per source (and one for the whole pack), created once and then updated,
 * each file a resource whose bytes are uploaded again only when their sha256 changed.
 * The same version twice makes no request at all. The metadata comes from the pack itself
 * (catalogue.csv: title, description, producer, licence, frequency, temporal coverage;
 * datapackage.json: each file's title and description).
 */

const DEFAULT_API_URL = 'https://www.data.gouv.fr/api/1';

export const Registration = z.object({
  /** data.gouv.fr organization id (24 hexadecimal characters) or slug. */
  organization: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{1,99}$/, "identifiant d'organisation data.gouv.fr attendu"),
  apiKey: z.string().trim().min(8, "clé d'API data.gouv.fr attendue").max(2000),
  apiUrl: z
    .string()
    .url()
    .regex(/^https?:\/\//)
    .default(DEFAULT_API_URL),
});
export type RegistrationInput = z.input<typeof Registration>;

async function communeName(db: Pool, code: string): Promise<string | null> {
  const { rows } = await db.query(
    `select nom from communes where code = $1 and type in ('commune-actuelle', 'arrondissement-municipal') order by type limit 1`,
    [code],
  );
  return rows[0]?.nom ?? null;
}

/** Registers (or replaces) a commune's organization and API key; the key is stored encrypted. */
export async function registerTarget(
  code: string,
  input: RegistrationInput,
  by: 'cli' | 'operateur',
  s: Settings = currentSettings(),
): Promise<{ code: string; nom: string; organization: string; apiUrl: string }> {
  if (!COMMUNE_CODE.test(code)) throw new Error(`« ${code} » n'est pas un code de commune`);
  const r = Registration.parse(input);
  const key = publicationKey(s.PUBLICATION_KEY);
  const db = pool(s.DATABASE_URL);
  const nom = await communeName(db, code);
  if (!nom) throw new Error(`aucune commune ni arrondissement municipal de code ${code}`);
  const enc = encryptSecret(r.apiKey, key, code);
  const client = await db.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query(`select organization, api_url from publication_targets where code = $1 for update`, [code]);
    // Another organization (or API): its datasets are not ours to update; start afresh.
    if (rows[0] && (rows[0].organization !== r.organization || rows[0].api_url !== r.apiUrl))
      await client.query(`delete from publication_datasets where code = $1`, [code]);
    await client.query(
      `insert into publication_targets (code, organization, api_url, api_key_enc, registered_by)
       values ($1, $2, $3, $4, $5)
       on conflict (code) do update set organization = excluded.organization, api_url = excluded.api_url,
         api_key_enc = excluded.api_key_enc, registered_by = excluded.registered_by, registered_at = now(),
         stopped_at = null, stop_reason = null, last_error = null,
         published_version = case when publication_targets.organization = excluded.organization
                                   and publication_targets.api_url = excluded.api_url then publication_targets.published_version end`,
      [code, r.organization, r.apiUrl, enc, by],
    );
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { code, nom, organization: r.organization, apiUrl: r.apiUrl };
}

/** Stops publishing a commune (its datasets stay on data.gouv.fr). True when it was registered. */
export async function removeTarget(code: string, s: Settings = currentSettings()): Promise<boolean> {
  const { rowCount } = await pool(s.DATABASE_URL).query(`delete from publication_targets where code = $1`, [code]);
  return (rowCount ?? 0) > 0;
}

export interface TargetStatus {
  code: string;
  nom: string | null;
  organization: string;
  apiUrl: string;
  registeredAt: string;
  /** 'active', 'stopped' (key refused: register a new one), 'failing' (last attempt failed, will retry). */
  state: 'active' | 'stopped' | 'failing';
  stopReason: string | null;
  publishedVersion: string | null;
  publishedAt: string | null;
  latestVersion: string | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  datasets: number;
}

/** Every registered commune with what was last published and the last error (never the key). */
export async function listTargets(s: Settings = currentSettings(), code?: string): Promise<TargetStatus[]> {
  const { rows } = await pool(s.DATABASE_URL).query(
    `select t.code, c.nom, t.organization, t.api_url, t.registered_at, t.stopped_at, t.stop_reason, t.published_version,
            t.published_at, t.last_error, t.last_attempt_at, b.version as latest_version,
            (select count(*)::int from publication_datasets d where d.code = t.code) as datasets
       from publication_targets t
       left join pack_builds b on b.code = t.code
       left join lateral (select nom from communes x where x.code = t.code and x.type in ('commune-actuelle', 'arrondissement-municipal')
                           order by x.type limit 1) c on true
      where $1::text is null or t.code = $1
      order by t.code`,
    [code ?? null],
  );
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return rows.map((r) => ({
    code: r.code,
    nom: r.nom,
    organization: r.organization,
    apiUrl: r.api_url,
    registeredAt: r.registered_at.toISOString(),
    state: r.stopped_at ? 'stopped' : r.last_error ? 'failing' : 'active',
    stopReason: r.stop_reason,
    publishedVersion: r.published_version,
    publishedAt: iso(r.published_at),
    latestVersion: r.latest_version,
    lastError: r.last_error,
    lastAttemptAt: iso(r.last_attempt_at),
    datasets: r.datasets,
  }));
}

/** Commune codes whose latest pack version is not published yet (registered, not stopped). */
export async function pendingTargets(s: Settings = currentSettings(), among?: string[]): Promise<{ code: string; version: string }[]> {
  const { rows } = await pool(s.DATABASE_URL).query(
    `select t.code, b.version from publication_targets t join pack_builds b on b.code = t.code
      where t.stopped_at is null and t.published_version is distinct from b.version
        and ($1::text[] is null or t.code = any($1::text[]))
      order by t.code`,
    [among ?? null],
  );
  return rows;
}

// ---------------------------------------------------------------- what to publish

interface FileSpec {
  /** Name in the pack (pack.zip for the archive). */
  name: string;
  sha256: string;
  mime: string;
  meta: Record<string, unknown>;
  read: () => Promise<Buffer>;
}
interface DatasetSpec {
  key: string;
  meta: Record<string, unknown>;
  files: FileSpec[];
}

const MIME: Record<string, string> = {
  csv: 'text/csv',
  geojson: 'application/geo+json',
  json: 'application/json',
  md: 'text/markdown',
  zip: 'application/zip',
};

/** udata frequency ids (udata/core/dataset/constants.py UpdateFrequency) for the SCDL catalogue's. */
const FREQUENCIES: Record<string, string> = {
  Quotidienne: 'daily',
  'Quotidienne ou plusieurs fois par jour': 'daily',
  'Hebdomadaire ou plusieurs fois par semaine': 'weekly',
  'Mensuelle ou plusieurs fois par mois': 'monthly',
  Bimestrielle: 'bimonthly',
  Trimestrielle: 'quarterly',
  Semestrielle: 'semiannual',
  Annuelle: 'annual',
  Biennale: 'biennial',
  Triennale: 'triennial',
  Quinquennale: 'quinquennial',
  Ponctuelle: 'punctual',
  Irrégulière: 'irregular',
};
/** data.gouv.fr licence ids for the SCDL catalogue's. */
const LICENCES: Record<string, string> = {
  'Licence Ouverte-LO': 'lov2',
  'Open Database License-ODBL': 'odc-odbl',
};

async function readEntry(zip: string, name: string): Promise<Buffer> {
  const e = await openZipEntry(zip, name);
  if (!e) throw new Error(`${name} absent de ${zip}`);
  const chunks: Buffer[] = [];
  for await (const c of e.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface DpResource {
  path: string;
  title?: string;
  description?: string;
  sources?: { title: string; path?: string; version?: string }[];
}

/** The datasets of one pack version, their metadata and files, read from the pack's own files. */
async function datasetSpecs(code: string, nom: string, v: PackVersion, zip: string, baseUrl: string): Promise<DatasetSpec[]> {
  const catalogue = parseCsv((await readEntry(zip, 'catalogue.csv')).toString('utf8'));
  const [header, ...rows] = catalogue;
  const col = (r: string[], name: string) => r[header.indexOf(name)] ?? '';
  const dp = JSON.parse((await readEntry(zip, 'datapackage.json')).toString('utf8')) as { description: string; resources: DpResource[] };
  const inPack = new Map(v.files.map((f) => [f.name, f]));
  // The files of each source: the same names the builder gave them (src/packs/content.ts planFiles).
  const ids = rows.map((r) => col(r, 'ID').slice(code.length + 1));
  const metas = ids
    .map((id) => ({ id, section: sourceRegistry().get(id)?.pack ?? null }))
    .filter((m) => m.section) as unknown as SourceMeta[];
  const planned = planFiles(metas);
  const filesOf = (id: string) =>
    id === 'cog'
      ? ['commune.json']
      : [
          ...planned.tables.filter((t) => t.source.id === id).map((t) => t.file),
          ...planned.layers.filter((l) => l.source.id === id).map((l) => l.file),
        ];
  const fileSpec = (name: string, extra: Record<string, unknown> = {}): FileSpec | null => {
    const f = inPack.get(name);
    if (!f) return null;
    const r = dp.resources.find((x) => x.path === name);
    const ext = name.split('.').pop()!;
    return {
      name,
      sha256: f.sha256,
      mime: MIME[ext] ?? 'application/octet-stream',
      meta: { title: name, description: [r?.title, r?.description].filter(Boolean).join(' : '), type: 'main', format: ext, ...extra },
      read: () => readEntry(zip, name),
    };
  };
  const specs: DatasetSpec[] = [];
  const spatial = { zones: [`fr:commune:${code}`], granularity: 'fr:commune' };
  rows.forEach((r, i) => {
    const id = ids[i];
    const files = filesOf(id)
      .map((n) => fileSpec(n))
      .filter((f): f is FileSpec => f !== null);
    if (!files.length) return;
    const src = dp.resources.find((x) => x.path === files[0].name)?.sources?.[0];
    const producer = col(r, 'PRODUCTEUR_NOM');
    specs.push({
      key: id,
      meta: {
        title: col(r, 'TITRE').replace(/, millésime [^,]*$/, ''),
        description: [
          col(r, 'DESCRIPTION'),
          `Extrait pour ${nom} (code INSEE ${code}) des données nationales de ${producer}, millésime ${src?.version ?? ''}.`,
          `Source : ${producer}${src?.title ? ` — ${src.title.split(' — ').pop()}` : ''}${src?.path ? ` (${src.path})` : ''}.`,
          `Publié par la dotation de données : ${baseUrl}/communes/${code}.`,
        ].join('\n\n'),
        license: LICENCES[col(r, 'LICENCE')] ?? 'other-open',
        frequency: FREQUENCIES[col(r, 'FREQ_MAJ')] ?? 'unknown',
        temporal_coverage: { start: col(r, 'COUV_TEMP_DEBUT'), end: col(r, 'COUV_TEMP_FIN') },
        spatial,
        tags: col(r, 'MOTS_CLES').split(';').filter(Boolean),
      },
      files,
    });
  });
  const packFiles: FileSpec[] = [
    {
      name: 'pack.zip',
      sha256: v.sha256,
      mime: 'application/zip',
      meta: {
        title: `dotation-${code}.zip`,
        description: 'Le dossier complet : tous les fichiers, LISEZMOI.md, datapackage.json et catalogue.csv.',
        type: 'main',
        format: 'zip',
      },
      read: () => fs.promises.readFile(zip),
    },
    fileSpec('catalogue.csv', {
      // The SCDL schema this file follows (schema.data.gouv.fr).
      schema: { name: 'scdl/catalogue', version: SCDL_CATALOGUE_VERSION },
    }),
    fileSpec('LISEZMOI.md', { type: 'documentation' }),
  ].filter((f): f is FileSpec => f !== null);
  specs.unshift({
    key: 'pack',
    meta: {
      title: `Dotation de données – ${nom} (${code})`,
      description: `${dp.description}\n\nChaque jeu de données de l'organisation reprend une source du dossier ; celui-ci les réunit dans une archive.\n\nPublié par la dotation de données : ${baseUrl}/communes/${code}.`,
      license: 'lov2',
      frequency: 'unknown',
      spatial,
      tags: ['dotation', 'commune', code],
    },
    files: packFiles,
  });
  return specs;
}

// ---------------------------------------------------------------- publishing

export class PublicationStoppedError extends Error {}

export interface PublishResult {
  code: string;
  status: 'published' | 'unchanged' | 'stopped' | 'nothing';
  version: string | null;
  /** Requests that changed something on data.gouv.fr. */
  writes: number;
}

export interface PublishOptions {
  settings?: Settings;
  client?: ClientOptions;
  log?: (m: string) => void;
}

const hash = (x: unknown) => crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex');

/** The message of a refused key, in French, naming the commune. */
function stopMessage(nom: string, code: string, err: DataGouvError): string {
  return err.kind === 'auth'
    ? `Publication sur data.gouv.fr arrêtée pour ${nom} (${code}) : la clé d'API est refusée (révoquée ou expirée). Enregistrez une nouvelle clé (dotation publish register ${code}) pour reprendre. Détail : ${err.message}`
    : `Publication sur data.gouv.fr arrêtée pour ${nom} (${code}) : la clé d'API n'a pas les droits sur l'organisation. Vérifiez que son titulaire en est membre, puis enregistrez la clé de nouveau. Détail : ${err.message}`;
}

/**
 * Publishes the commune's latest pack version. Idempotent: what data.gouv.fr already holds
 * (same metadata, same sha256) is not sent again. A refused key (401/403) stops the commune's
 * publication (PublicationStoppedError, message in French naming it); other failures throw
 * (DataGouvError.retryable tells whether trying again may help) and are recorded as the last error.
 */
export async function publishCommune(code: string, opts: PublishOptions = {}): Promise<PublishResult> {
  const s = opts.settings ?? currentSettings();
  const db = pool(s.DATABASE_URL);
  const {
    rows: [t],
  } = await db.query(`select * from publication_targets where code = $1`, [code]);
  if (!t) throw new Error(`la commune ${code} n'est pas inscrite pour la publication sur data.gouv.fr`);
  const nom = (await communeName(db, code)) ?? code;
  if (t.stopped_at) return { code, status: 'stopped', version: null, writes: 0 };
  const manifest = await readManifestAsync(s.PACKS_DIR, code);
  const v = manifest?.versions[0];
  if (!v) return { code, status: 'nothing', version: null, writes: 0 };
  const apiKey = decryptSecret(t.api_key_enc, publicationKey(s.PUBLICATION_KEY), code);
  const client = new DataGouvClient(t.api_url, apiKey, opts.client);
  const baseUrl = s.PUBLIC_BASE_URL.replace(/\/+$/, '');
  let writes = 0;
  try {
    const specs = await datasetSpecs(code, nom, v, versionPath(s.PACKS_DIR, code, v.version), baseUrl);
    const { rows: ds } = await db.query(`select dataset_key, remote_id, meta_hash from publication_datasets where code = $1`, [code]);
    const { rows: rs } = await db.query(
      `select dataset_key, file, remote_id, url, sha256, meta_hash from publication_resources where code = $1`,
      [code],
    );
    const datasets = new Map(ds.map((d) => [d.dataset_key as string, d]));
    const resources = new Map(rs.map((r) => [`${r.dataset_key}/${r.file}`, r]));
    for (const spec of specs) {
      const metaHash = hash(spec.meta);
      let d = datasets.get(spec.key);
      try {
        if (!d) {
          const id = await client.createDataset({ ...spec.meta, organization: t.organization });
          writes++;
          // Recorded at once: a retry after a later failure updates this dataset, never creates a second.
          await db.query(`insert into publication_datasets (code, dataset_key, remote_id, meta_hash) values ($1, $2, $3, $4)`, [
            code,
            spec.key,
            id,
            metaHash,
          ]);
          d = { dataset_key: spec.key, remote_id: id, meta_hash: metaHash };
        } else if (d.meta_hash !== metaHash) {
          await client.updateDataset(d.remote_id, spec.meta);
          writes++;
          await db.query(`update publication_datasets set meta_hash = $3 where code = $1 and dataset_key = $2`, [code, spec.key, metaHash]);
        }
        for (const f of spec.files) {
          const k = `${spec.key}/${f.name}`;
          let r = resources.get(k);
          const uploadName = f.name === 'pack.zip' ? `dotation-${code}.zip` : `${code}-${f.name}`;
          if (!r || r.sha256 !== f.sha256) {
            const data = await f.read();
            let up;
            try {
              up = r
                ? await client.replaceResourceFile(d.remote_id, r.remote_id, uploadName, data, f.mime)
                : await client.uploadResource(d.remote_id, uploadName, data, f.mime);
            } catch (err) {
              // The resource alone was deleted on data.gouv.fr: forget it, the next attempt uploads it anew.
              if (r && err instanceof DataGouvError && err.kind === 'gone') {
                await db.query(`delete from publication_resources where code = $1 and dataset_key = $2 and file = $3`, [
                  code,
                  spec.key,
                  f.name,
                ]);
                throw new DataGouvError(`${err.message} ; la ressource ${f.name} sera déposée de nouveau`, 'gone', err.status, true);
              }
              throw err;
            }
            writes++;
            await db.query(
              `insert into publication_resources (code, dataset_key, file, remote_id, url, sha256, meta_hash, version)
               values ($1, $2, $3, $4, $5, $6, null, $7)
               on conflict (code, dataset_key, file) do update set remote_id = excluded.remote_id, url = excluded.url,
                 sha256 = excluded.sha256, version = excluded.version`,
              [code, spec.key, f.name, up.id, up.url, f.sha256, v.version],
            );
            // The upload renamed the resource after the file: its metadata must be set again, whatever was set before.
            r = { ...(r ?? {}), remote_id: up.id, url: up.url, sha256: f.sha256, meta_hash: null };
            resources.set(k, r);
          }
          // An upload names the resource after the file: its title and description are set after it.
          const fileMeta = { ...f.meta, url: r.url, filetype: 'file' };
          const fileHash = hash(fileMeta);
          if (r.meta_hash !== fileHash) {
            await client.updateResource(d.remote_id, r.remote_id, fileMeta);
            writes++;
            await db.query(`update publication_resources set meta_hash = $4 where code = $1 and dataset_key = $2 and file = $3`, [
              code,
              spec.key,
              f.name,
              fileHash,
            ]);
          }
        }
      } catch (err) {
        // The dataset was deleted on data.gouv.fr: forget it, the next attempt creates it again.
        if (err instanceof DataGouvError && err.kind === 'gone' && !err.retryable && d) {
          await db.query(`delete from publication_datasets where code = $1 and dataset_key = $2`, [code, spec.key]);
          throw new DataGouvError(`${err.message} ; le jeu de données « ${spec.key} » sera recréé`, 'gone', err.status, true);
        }
        throw err;
      }
    }
  } catch (err) {
    if (err instanceof DataGouvError && (err.kind === 'auth' || err.kind === 'forbidden')) {
      const message = stopMessage(nom, code, err);
      await db.query(
        `update publication_targets set stopped_at = now(), stop_reason = $2, last_error = $2, last_attempt_at = now() where code = $1`,
        [code, message],
      );
      opts.log?.(message);
      throw new PublicationStoppedError(message);
    }
    const message = client.redact((err as Error).message);
    await db.query(`update publication_targets set last_error = $2, last_attempt_at = now() where code = $1`, [code, message]);
    throw err;
  }
  await db.query(
    `update publication_targets set published_version = $2, published_at = case when $3 then now() else coalesce(published_at, now()) end,
            last_error = null, last_attempt_at = now() where code = $1`,
    [code, v.version, writes > 0],
  );
  const status = writes ? 'published' : 'unchanged';
  opts.log?.(
    `${nom} (${code}) : version ${v.version} ${writes ? `publiée sur data.gouv.fr (${writes} écriture(s))` : 'déjà publiée, rien à envoyer'}`,
  );
  return { code, status, version: v.version, writes };
}
