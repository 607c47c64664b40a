import path from 'node:path';
import { parseArgs } from 'node:util';
import { settings, SettingsError } from '../config/settings';
import { pipelineOrder, sourceRegistry } from '../config/sources';
import { closePools, pool } from './db/pool';
import { ensureDatabase, migrate } from './db/migrate';
import { terminalProgress } from './engine/progress';
import { markInterruptedRuns, runSource } from './engine/runner';
import { logTo } from './log';

const USAGE = `dotation — la dotation de données des communes

Usage:
  dotation start                      migrate, load every source (mirror, else download, else embedded), build packs, serve
  dotation migrate                    apply sql/migrations
  dotation sources [SOURCE]           list the declared sources, or one source's resources (where each is
                                      found, how its edition is read, the page it came from)
  dotation sources check [SOURCE]…    ask upstream (data.gouv.fr API, or HEAD) whether each declared resource is
                                      there and which edition it is, without loading anything; exit code 1 when
                                      one is moved, missing or unreachable
  dotation run <source> [--inline] [--file PATH] [--resource NAME] [--millesime M] [--force] [--allow-shrink]
                                      enqueue a run (or run it here with --inline, with progress bars);
                                      --file loads that one resource (recognised by its name or its zip
                                      entries), --millesime states the edition of a hand-copied file.
                                      A publication that would lose more communes or rows than its source
                                      declares is refused (run 'refused', exit code 65); --allow-shrink forces it
  dotation runs [--limit N]           recent runs
  dotation quarantine <run-id>        rejected rows of a run
  dotation worker [--concurrency N]   process queued runs and pack builds (N jobs of each queue at once)
  dotation scheduler                  enqueue each source on its cron schedule
  dotation packs build [--queue] [--commune CODE]… [--departement DEP]… [--force] [--recheck]
                                      build packs here, or with --queue enqueue a fan-out (one job per
                                      département) that every 'dotation worker' shares; prints the parent job id.
                                      One fan-out at a time: refused (exit code 75) while another is queued or running
  dotation publish register <code> --organisation ORG [--api-url URL]
                                      publish the commune's packs on data.gouv.fr: the API key is read from
                                      standard input, stored encrypted (PUBLICATION_KEY)
  dotation publish list [--commune CODE]
                                      registered communes: published version, state, last error
  dotation publish run <code> [--inline]
                                      publish the latest version now (here with --inline, else enqueued)
  dotation publish pending            enqueue every commune whose latest version is not published yet
  dotation publish remove <code>      stop publishing a commune (its datasets stay on data.gouv.fr)
  dotation serve                      HTTP server (PORT, default 3000)
  dotation populations:manquantes [--millesime M]
`;

function table(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '(none)';
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v);
  const width = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  // The last column is written whole (a reason, a detail): nothing after it to align.
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.slice(0, width[i]).padEnd(width[i])))
      .join('  ')
      .trimEnd();
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/**
 * Recent runs. `edition` is the edition the run published (or, for a run that published
 * nothing, what its files state); `from` says where it was read: the files (title, URL, name,
 * upstream metadata, the operator's --millesime) or the data itself. Never a file's date.
 */
export async function listRuns(limit = 20): Promise<Record<string, unknown>[]> {
  const { rows } = await pool().query(
    `select r.id, r.source, r.status, r.trigger, r.attempt,
            coalesce(r.millesime, p.editions) as edition,
            case when r.source = 'packs' then ''
                 when p.froms is not null and (r.millesime is null or r.millesime = p.editions) then p.froms
                 when r.millesime is not null then 'data'
                 else '' end as "from",
            r.started_at as started,
            round(extract(epoch from (coalesce(r.finished_at, now()) - r.started_at))::numeric, 1) as seconds,
            r.bytes, r.rows_read as read, r.rows_loaded as loaded, r.rows_rejected as rejected, r.rows_published as published,
            r.progress, left(coalesce(r.error, ''), 80) as error
       from (select * from runs order by id desc limit $1) r
       left join lateral (
         select string_agg(distinct edition, ', ' order by edition) as editions,
                string_agg(distinct edition_from, ', ' order by edition_from) as froms
           from provenance where run_id = r.id and edition is not null) p on true
      order by r.id desc`,
    [limit],
  );
  return rows.map(({ progress, error, ...r }) => ({
    ...r,
    progress: progressLabel(r.source as string, r.status as string, progress),
    error,
  }));
}

/** Short progress text: for a pack build, départements done / total and packs built; else rows read while running. */
export function progressLabel(source: string, status: string, p: Record<string, number> | null): string {
  if (!p || !Object.keys(p).length) return '';
  if (source === 'packs' && p.departementsTotal !== undefined) {
    const failing = p.departementsFailing ? `, ${p.departementsFailing} failing` : '';
    return `dep ${p.departementsDone ?? 0}/${p.departementsTotal}${failing}, built ${p.built ?? 0}/${p.communesTotal ?? '?'}, unchanged ${p.unchanged ?? 0}`;
  }
  return status === 'running' && p.read !== undefined ? `read ${p.read}` : '';
}

/**
 * Loads a module on first use. require(), not import(): `node -r tsx/cjs` (bin/dotation.js) hooks
 * require only, and a dynamic import() of a .ts file fails there ("Cannot find module").
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lazy = <T>(id: string): T => require(id) as T;

const list = (v: string[] | undefined) =>
  (v ?? [])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      inline: { type: 'boolean' },
      file: { type: 'string' },
      resource: { type: 'string' },
      force: { type: 'boolean' },
      'allow-shrink': { type: 'boolean' },
      recheck: { type: 'boolean' },
      limit: { type: 'string' },
      commune: { type: 'string', multiple: true },
      departement: { type: 'string', multiple: true },
      queue: { type: 'boolean' },
      concurrency: { type: 'string' },
      millesime: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'no-serve': { type: 'boolean' },
      organisation: { type: 'string' },
      'api-url': { type: 'string' },
    },
  });
  const [cmd, arg] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!cmd) throw new UsageError('which command?');
  const s = settings();
  switch (cmd) {
    case 'migrate': {
      await ensureDatabase(s.DATABASE_URL);
      const applied = await migrate(s.DATABASE_URL, (m) => console.log(m));
      console.log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
      return 0;
    }
    case 'sources': {
      if (arg === 'check') return sourcesCheck(positionals.slice(2));
      if (arg) {
        // `dotation sources <id>`: its resources, where each is found and the page it came from.
        const p = sourceRegistry().get(arg);
        if (!p) throw new UsageError(`dotation sources: '${arg}' is neither 'check' nor a source (${pipelineOrder().join(', ')})`);
        console.log(
          table(
            p.source.resources
              .filter((r) => !r.mirrorOnly || p.source.resources.length < 10)
              .map((r) => ({
                resource: r.name,
                found: r.datagouv ? `data.gouv.fr ${r.datagouv.dataset}` : r.url ? r.url : 'MIRROR_DIR only',
                edition: !r.edition
                  ? 'from the data'
                  : 'value' in r.edition
                    ? r.edition.value
                    : `${r.edition.from}${r.edition.pattern ? ` ~ ${r.edition.pattern}` : ''}`,
                state: r.pending ? 'pending' : r.optional ? 'optional' : 'required',
                page: r.page,
              })),
          ),
        );
        const hidden = p.source.resources.filter((r) => r.mirrorOnly).length;
        if (hidden && p.source.resources.length >= 10) console.log(`and ${hidden} copies recognised in MIRROR_DIR by their names`);
        return 0;
      }
      console.log(
        table(
          [...sourceRegistry().values()].map((p) => ({
            id: p.source.id,
            title: p.source.title,
            producer: p.source.producer,
            schedule: p.source.schedule,
            licence: p.source.licence.id,
          })),
        ),
      );
      return 0;
    }
    case 'run': {
      if (!arg) throw new UsageError('dotation run <source>: which source? (dotation sources)');
      if (!sourceRegistry().has(arg)) throw new UsageError(`unknown source '${arg}'; known: ${pipelineOrder().join(', ')}`);
      if (values.millesime !== undefined && !/^[0-9A-Za-z][0-9A-Za-z_.-]{0,39}$/.test(values.millesime))
        throw new UsageError(`--millesime '${values.millesime}': an edition such as 2025, 2026_T1, 2024-06-03 or presidentielle-2022-t2`);
      if (values.inline) {
        await markInterruptedRuns();
        const r = await runSource(arg, {
          file: values.file,
          resource: values.resource,
          millesime: values.millesime,
          force: values.force,
          allowShrink: values['allow-shrink'],
          trigger: 'cli',
          progress: terminalProgress(),
        });
        console.log(
          table([
            {
              run: r.runId,
              source: r.source,
              status: r.status,
              edition: r.millesime,
              read: r.read,
              loaded: r.loaded,
              rejected: r.rejected,
              published: r.published,
              // Which resource each file was taken as, and the edition it states.
              files: r.files
                .map((f) => `${f.resource} ← ${path.basename(f.path)}${f.edition ? ` (${f.edition}, ${f.editionFrom})` : ''}`)
                .join('; '),
            },
          ]),
        );
        return 0;
      }
      const { enqueueRun } = lazy<typeof import('./queue/queue')>('./queue/queue');
      const job = await enqueueRun(arg, {
        file: values.file,
        resource: values.resource,
        millesime: values.millesime,
        force: values.force,
        allowShrink: values['allow-shrink'],
        trigger: 'cli',
      });
      console.log(`enqueued ${arg} as job ${job.id}; a 'dotation worker' runs it (see 'dotation runs')`);
      return 0;
    }
    case 'runs': {
      await markInterruptedRuns();
      console.log(table(await listRuns(Number(values.limit ?? 20))));
      return 0;
    }
    case 'quarantine': {
      const { rows } = await pool().query(
        `select file, line, reason, left(raw, 80) as raw from quarantine where run_id = $1 order by id limit 500`,
        [Number(arg)],
      );
      console.log(table(rows));
      return 0;
    }
    case 'populations:manquantes': {
      const { explainMissingPopulations } = lazy<typeof import('../pipelines/populations/transform')>('../pipelines/populations/transform');
      const m = values.millesime ?? (await pool().query(`select latest_edition('populations') as m`)).rows[0].m;
      console.log(table((await explainMissingPopulations(pool(), m)) as unknown as Record<string, unknown>[]));
      return 0;
    }
    case 'worker': {
      const { startWorker } = lazy<typeof import('./queue/worker')>('./queue/worker');
      const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
      if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64))
        throw new Error('--concurrency: an integer from 1 to 64');
      await startWorker({ concurrency });
      return -1; // keeps running
    }
    case 'scheduler': {
      const { startScheduler } = lazy<typeof import('./queue/scheduler')>('./queue/scheduler');
      await startScheduler();
      return -1;
    }
    case 'packs': {
      if (arg !== 'build') throw new UsageError('dotation packs build [--queue] [--commune CODE] [--departement DEP] [--force]');
      const communes = list(values.commune);
      const departements = list(values.departement).map((d) => (/^\d$/.test(d) ? `0${d}` : d.toUpperCase()));
      if (values.queue) {
        const { enqueuePacksBuild, PacksBuildActiveError } = lazy<typeof import('./queue/packs')>('./queue/packs');
        let b: Awaited<ReturnType<typeof enqueuePacksBuild>>;
        try {
          b = await enqueuePacksBuild({ communes, departements, force: values.force, recheck: values.recheck, trigger: 'cli' });
        } catch (err) {
          if (!(err instanceof PacksBuildActiveError)) throw err;
          console.error(`dotation: ${err.message}`);
          return err.exitCode;
        }
        console.log(
          `enqueued packs build as job ${b.jobId} (run ${b.runId}): ${b.departements.length} département job(s), ${b.communes} commune(s); 'dotation worker' processes them (see 'dotation runs')`,
        );
        return 0;
      }
      const { buildPacks } = lazy<typeof import('./packs/build')>('./packs/build');
      const { withInlineBuildLock } = lazy<typeof import('./packs/lock')>('./packs/lock');
      const { pool } = lazy<typeof import('./db/pool')>('./db/pool');
      const r = await withInlineBuildLock(pool(s.DATABASE_URL), logTo('packs'), () =>
        buildPacks({ communes, departements, force: values.force, recheck: values.recheck, progress: terminalProgress() }),
      );
      console.log(
        `${r.built} pack(s) built, ${r.unchanged} unchanged${r.failed ? `, ${r.failed} failed` : ''}, in ${PACKS_DIR_LABEL(s.PACKS_DIR)}`,
      );
      if (!r.failed) return 0;
      // A failed pack is a failed command (a full disk must not look like success): the first errors on stderr, exit 1.
      for (const e of r.errors.slice(0, 10)) console.error(`dotation: pack ${e.code}: ${e.error}`);
      if (r.errors.length > 10) console.error(`dotation: … and ${r.errors.length - 10} more failed pack(s)`);
      return 1;
    }
    case 'publish':
      return publishCommand(arg, positionals[2], values);
    case 'serve': {
      const { startServer } = lazy<typeof import('./server/app')>('./server/app');
      await startServer();
      return -1;
    }
    case 'start': {
      const { start } = lazy<typeof import('./start')>('./start');
      return start({ serve: !values['no-serve'] });
    }
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

/** `dotation sources check [SOURCE]…`: one line per declared resource; exit 1 when one needs the operator. */
async function sourcesCheck(ids: string[]): Promise<number> {
  for (const id of ids) if (!sourceRegistry().has(id)) throw new UsageError(`unknown source '${id}'; known: ${pipelineOrder().join(', ')}`);
  const { checkSources, BROKEN } = lazy<typeof import('./harvest/check')>('./harvest/check');
  const sources = (ids.length ? ids : pipelineOrder()).map((id) => sourceRegistry().get(id)!.source);
  const results = await checkSources(pool(), settings(), sources);
  console.log(
    table(
      results.map((r) => ({
        source: r.source,
        resource: r.resource,
        status: r.pending ? `${r.status} (pending)` : r.status,
        edition: r.edition,
        loaded: r.loaded,
        detail: r.detail,
      })),
    ),
  );
  const broken = results.filter((r) => BROKEN.has(r.status));
  console.log(
    `${results.length} resource(s) checked: ${results.filter((r) => r.status === 'new-edition').length} new edition(s), ${broken.length} to fix`,
  );
  return broken.length ? 1 : 0;
}

const PACKS_DIR_LABEL = (d: string) => d;

/** Whether LOG_LEVEL asks for stack traces (false when the settings themselves are invalid). */
function debugLogging(): boolean {
  try {
    return settings().LOG_LEVEL === 'debug';
  } catch {
    return false;
  }
}

/**
 * Reads the API key from standard input (a pipe, a file redirected, or typed at the prompt): never
 * a command-line argument, which would show in `ps` and the shell history.
 */
async function readApiKey(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("clé d'API data.gouv.fr (puis Entrée) : ");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (process.stdin.isTTY && (c as Buffer).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function publishCommand(
  sub: string | undefined,
  code: string | undefined,
  values: { organisation?: string; 'api-url'?: string; inline?: boolean; commune?: string[] },
): Promise<number> {
  const p = lazy<typeof import('./publish/publish')>('./publish/publish');
  const needCode = () => {
    if (!code) throw new UsageError(`dotation publish ${sub} <code>: which commune?`);
    return code.toUpperCase();
  };
  switch (sub) {
    case 'register': {
      const c = needCode();
      if (!values.organisation)
        throw new UsageError('dotation publish register <code> --organisation ORG: which data.gouv.fr organization?');
      const r = await p.registerTarget(
        c,
        { organization: values.organisation, apiKey: await readApiKey(), apiUrl: values['api-url'] },
        'cli',
      );
      console.log(
        `${r.nom} (${r.code}) publiera sur ${r.apiUrl} dans l'organisation ${r.organization} ; la clé d'API est enregistrée chiffrée.`,
      );
      const q = lazy<typeof import('./queue/publications')>('./queue/publications');
      const n = await q.enqueuePendingPublications([c]).catch((err: Error) => {
        console.error(`dotation: publication non mise en file (${err.message}) : lancez 'dotation publish run ${c}'`);
        return 0;
      });
      if (n) console.log(`publication de la dernière version mise en file ; un 'dotation worker' la traite (voir 'dotation publish list')`);
      return 0;
    }
    case 'list': {
      const rows = await p.listTargets(undefined, values.commune?.[0]?.toUpperCase());
      console.log(
        table(
          rows.map((r) => ({
            code: r.code,
            commune: r.nom,
            organisation: r.organization,
            etat: r.state,
            publiee: r.publishedVersion,
            derniere: r.latestVersion,
            le: r.publishedAt ? new Date(r.publishedAt) : null,
            erreur: r.stopReason ?? r.lastError ?? '',
          })),
        ),
      );
      return 0;
    }
    case 'run': {
      const c = needCode();
      if (values.inline) {
        const r = await p.publishCommune(c, { log: (m) => console.log(m) });
        if (r.status === 'stopped')
          console.error(`dotation: publication arrêtée pour ${c} : ${(await p.listTargets(undefined, c))[0]?.stopReason ?? ''}`);
        return r.status === 'stopped' ? 1 : 0;
      }
      const [target] = await p.listTargets(undefined, c);
      if (!target) throw new Error(`la commune ${c} n'est pas inscrite (dotation publish register)`);
      const q = lazy<typeof import('./queue/publications')>('./queue/publications');
      const latest = target.latestVersion;
      if (!latest) throw new Error(`aucun paquet construit pour ${c} (dotation packs build --commune ${c})`);
      const id = await q.enqueuePublication(c, latest, { trigger: 'cli', fresh: true });
      console.log(`publication de ${c} (version ${latest}) mise en file : job ${id}`);
      return 0;
    }
    case 'pending': {
      const q = lazy<typeof import('./queue/publications')>('./queue/publications');
      console.log(`${await q.enqueuePendingPublications()} publication(s) mise(s) en file`);
      return 0;
    }
    case 'remove': {
      const c = needCode();
      console.log((await p.removeTarget(c)) ? `${c} ne publiera plus sur data.gouv.fr` : `${c} n'était pas inscrite`);
      return 0;
    }
    default:
      throw new UsageError('dotation publish register|list|run|pending|remove');
  }
}

/** Raised for a command line the CLI cannot understand: usage on stderr, exit code 2. */
export class UsageError extends Error {}

/**
 * Runs the command line and exits the process with its status. Called by `bin/dotation.js`
 * (what `npx dotation` and `npm exec` start, through whatever `.bin/` link npm made) and by
 * `tsx src/cli.ts` (`npm run dotation`, `npm start`). Never rely on the path in `argv[1]`:
 * npx starts the package from its own cache (`~/.npm/_npx/<hash>/node_modules/.bin/dotation`).
 */
export function runCli(argv: string[]): void {
  main(argv).then(
    async (code) => {
      if (code >= 0) {
        await closePools();
        process.exit(code);
      }
    },
    async (err) => {
      if (err instanceof UsageError || isParseArgsError(err)) {
        process.stderr.write(`dotation: ${(err as Error).message}\n\n${USAGE}`);
        await closePools().catch(() => undefined);
        process.exit(2);
      }
      console.error(err instanceof SettingsError ? `dotation: ${err.message}` : `dotation: ${(err as Error).message}`);
      if (debugLogging()) console.error(err);
      await closePools().catch(() => undefined);
      // Errors may carry their own exit code (Redis unavailable: 69).
      const code = (err as { exitCode?: unknown })?.exitCode;
      process.exit(typeof code === 'number' && code > 0 && code < 256 ? code : 1);
    },
  );
}

/** node:util parseArgs errors (unknown option, missing value) carry an ERR_PARSE_ARGS_* code. */
function isParseArgsError(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
}

if (require.main === module) runCli(process.argv.slice(2));
