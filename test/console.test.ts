import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { freshDatabase } from './helpers/db';
import { resetSettings } from '../config/settings';
import { runSource } from '../src/engine/runner';
import { pool } from '../src/db/pool';
import { buildServer } from '../src/server/app';
import { closeQueues, runsQueue } from '../src/queue/queue';
import { closePacksQueue, packsQueue } from '../src/queue/packs';
import { closeRedisConnections } from '../src/queue/connection';
import { closePublicationsQueue } from '../src/queue/publications';
import { nextSlots } from '../src/queue/scheduler';
import { checkPage } from '../src/server/console/pages';
import type { ResourceCheck } from '../src/harvest/check';
import { closedPort } from './helpers/net';

/**
 * The operator console over HTTP (light-my-request): sign-in by token → session cookie, CSRF on
 * every POST, the pages (sources, runs, a run, its quarantine paged, pack builds), run now and
 * build packs, sign-out, and the JSON operator API that keeps its bearer token. The same flow in
 * a real browser, with axe, is test/console-browser.test.ts.
 */
const TOKEN = 'console-token-for-tests-0123456789';
let db: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let okRun: number;

beforeAll(async () => {
  db = await freshDatabase({ OPERATOR_TOKEN: TOKEN });
  okRun = (await runSource('populations', { trigger: 'test', log: () => undefined })).runId; // embedded default
  app = await buildServer();
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await runsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await packsQueue()
    .obliterate({ force: true })
    .catch(() => undefined);
  await Promise.all([closeQueues(), closePacksQueue(), closePublicationsQueue()]);
  await closeRedisConnections();
  await db.cleanup();
});

/** The cookie jar of one browser: `name=value` pairs from Set-Cookie. */
let clients = 0;
class Jar {
  cookies = new Map<string, string>();
  /** Each browser has its own address: the sign-in form allows 10 tries a quarter of an hour per address. */
  ip = `10.0.${Math.floor(++clients / 250)}.${clients % 250}`;
  take(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies as { name: string; value: string; maxAge?: number }[]) {
      if (c.value === '' || c.maxAge === 0) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
  }
}

const csrfOf = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

async function get(jar: Jar, url: string) {
  return jar.take(await app.inject({ url, remoteAddress: jar.ip, headers: { cookie: jar.header, accept: 'text/html' } }));
}
async function post(jar: Jar, url: string, fields: Record<string, string>) {
  return jar.take(
    await app.inject({
      method: 'POST',
      url,
      remoteAddress: jar.ip,
      headers: { cookie: jar.header, 'content-type': FORM },
      payload: form(fields),
    }),
  );
}

/** Signs in as a browser would: GET the form (CSRF secret in the session cookie), POST the token. */
async function signIn(jar = new Jar(), token = TOKEN): Promise<{ jar: Jar; res: LightMyRequestResponse }> {
  const page = await get(jar, '/operator/console/connexion?suite=%2Foperator%2Fconsole%2Fpassages');
  expect(page.statusCode).toBe(200);
  const res = await post(jar, '/operator/console/connexion', {
    _csrf: csrfOf(page.body),
    jeton: token,
    suite: '/operator/console/passages',
  });
  return { jar, res };
}

describe('operator console: sign-in', () => {
  test('signed out, every page leads to the sign-in form, and the JSON progress route answers 401', async () => {
    const jar = new Jar();
    const root = await get(jar, '/operator');
    expect(root.statusCode).toBe(303);
    expect(root.headers.location).toBe('/operator/console');
    for (const url of ['/operator/console', '/operator/console/passages/1/quarantaine?page=2', '/operator/queues']) {
      const res = await get(jar, url);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(`/operator/console/connexion?suite=${encodeURIComponent(url)}`);
    }
    const json = await app.inject({ url: '/operator/console/passages/etat.json?ids=1' });
    expect(json.statusCode).toBe(401);
    expect(json.json().message).toMatch(/connexion requise/);
    const bb = await app.inject({ url: '/operator/queues/api/queues' });
    expect(bb.statusCode).toBe(401);
    // A POST without a session is refused before anything runs.
    expect((await post(jar, '/operator/console/sources/cog/lancer', {})).statusCode).toBe(401);
    expect(await runsQueue().getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  test('a wrong token: 401 with a French message, no session; the token never appears in a URL', async () => {
    const { jar, res } = await signIn(new Jar(), 'not-the-token-at-all-000000');
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Jeton incorrect');
    expect(res.headers.location).toBeUndefined();
    expect((await get(jar, '/operator/console')).statusCode).toBe(303);
    const ok = await signIn();
    expect(ok.res.statusCode).toBe(303);
    expect(ok.res.headers.location).toBe('/operator/console/passages');
    expect(String(ok.res.headers.location)).not.toContain(TOKEN);
  });

  test('guessing: the 11th try within a quarter of an hour from one address answers 429 in French', async () => {
    const jar = new Jar();
    const page = await get(jar, '/operator/console/connexion');
    const tries: number[] = [];
    for (let i = 0; i < 11; i++)
      tries.push(
        (await post(jar, '/operator/console/connexion', { _csrf: csrfOf(page.body), jeton: `wrong-token-number-${i}-0000` })).statusCode,
      );
    expect(tries).toEqual([...Array(10).fill(401), 429]);
    const last = await post(jar, '/operator/console/connexion', { _csrf: csrfOf(page.body), jeton: TOKEN });
    expect(last.statusCode).toBe(429);
    expect(last.body).toContain('Trop de tentatives de connexion depuis cette adresse ; réessayez dans 15 min.');
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(800);
    // Another address is not affected.
    expect((await signIn()).res.statusCode).toBe(303);
  });

  test('the session cookie is HttpOnly, SameSite=Strict, scoped to /operator, encrypted (the token is not in it)', async () => {
    const { res } = await signIn();
    const cookie = (
      res.cookies as { name: string; value: string; httpOnly?: boolean; sameSite?: string; path?: string; secure?: boolean }[]
    ).find((c) => c.name === 'dotation_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/operator' });
    expect(cookie.secure).toBeFalsy(); // PUBLIC_BASE_URL is http here; see the https test below
    expect(decodeURIComponent(cookie.value)).not.toContain(TOKEN);
    expect(Buffer.from(decodeURIComponent(cookie.value).split(';')[0], 'base64').toString('latin1')).not.toMatch(/operateur/);
  });

  test('a POST without its CSRF token is refused (403, French page), even signed in', async () => {
    const { jar } = await signIn();
    const res = await post(jar, '/operator/console/sources/cog/lancer', {});
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('ce formulaire a expiré ou ne vient pas de la console'.replace(/^c/, 'C'));
    const forged = await post(jar, '/operator/console/sources/cog/lancer', { _csrf: 'forged-token' });
    expect(forged.statusCode).toBe(403);
    expect(await runsQueue().getJobCounts('waiting')).toEqual({ waiting: 0 });
    // The sign-in form is protected too (login CSRF).
    expect((await post(new Jar(), '/operator/console/connexion', { jeton: TOKEN })).statusCode).toBe(403);
  });

  test('sign-out deletes the cookie; the pages lead to the sign-in form again', async () => {
    const { jar } = await signIn();
    const page = await get(jar, '/operator/console');
    expect(page.statusCode).toBe(200);
    const out = await post(jar, '/operator/console/deconnexion', { _csrf: csrfOf(page.body) });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/operator/console/connexion?deconnecte=1');
    expect(jar.cookies.has('dotation_console')).toBe(false);
    expect((await get(jar, '/operator/console')).statusCode).toBe(303);
    expect((await get(jar, '/operator/console/connexion?deconnecte=1')).body).toContain('Vous êtes déconnecté');
  });

  test('after signing in, `suite` leads back to the page asked for, never to another site', async () => {
    for (const [suite, expected] of [
      ['/operator/console/dossiers', '/operator/console/dossiers'],
      ['https://evil.example/', '/operator/console'],
      ['//evil.example/operator', '/operator/console'],
      ['/communes/35238/page', '/operator/console'],
    ]) {
      const jar = new Jar();
      const page = await get(jar, '/operator/console/connexion');
      const res = await post(jar, '/operator/console/connexion', { _csrf: csrfOf(page.body), jeton: TOKEN, suite });
      expect(res.headers.location).toBe(expected);
    }
  });

  test('the JSON operator API keeps its bearer token and ignores the cookie; the console ignores the bearer token', async () => {
    const { jar } = await signIn();
    expect((await app.inject({ url: '/operator/runs', headers: { cookie: jar.header } })).statusCode).toBe(401);
    const api = await app.inject({ url: '/operator/runs', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.statusCode).toBe(200);
    expect(Number(api.json()[0].id)).toBe(okRun);
    const page = await app.inject({ url: '/operator/console', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.statusCode).toBe(303);
    // No CORS on the console either.
    const cors = await app.inject({ url: '/operator/console/connexion', headers: { origin: 'https://elsewhere.example' } });
    expect(cors.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('operator console: pages', () => {
  let jar: Jar;
  beforeAll(async () => {
    jar = (await signIn()).jar;
  });

  test('sources: schedule, next slot from the cron expression, last run and published edition', async () => {
    const res = await get(jar, '/operator/console');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const row = res.body.slice(
      res.body.indexOf('<strong>Populations légales'),
      res.body.indexOf('</tr>', res.body.indexOf('<strong>Populations légales')),
    );
    expect(row).toContain('<code>0 5 2 1 *</code>');
    const slot = nextSlots('0 5 2 1 *')[0];
    expect(row).toContain(`datetime="${slot.toISOString()}"`);
    expect(row).toContain(`href="/operator/console/passages/${okRun}"`);
    expect(row).toContain('Réussi');
    const { rows } = await pool().query(`select millesime from published_datasets where source = 'populations'`);
    expect(row).toContain(rows[0].millesime);
    expect(row).toContain('href="/operator/console/sources/populations/lancer"');
  });

  test('the upstream check says when the network is off (NETWORK=never in tests)', async () => {
    const res = await get(jar, '/operator/console/sources/verification');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Vérification impossible');
    expect(res.body).toContain('NETWORK=never');
  });

  test('the upstream check page shows what `dotation sources check` found, each status in French', () => {
    const check = (status: ResourceCheck['status'], extra: Partial<ResourceCheck> = {}): ResourceCheck => ({
      source: 'cog',
      resource: `r-${status}`,
      status,
      edition: '2026',
      loaded: '2025',
      url: 'https://www.insee.fr/fr/statistiques/fichier/8377162/v_commune_2025.csv',
      http: 200,
      location: null,
      dataset: null,
      resourceId: null,
      lastModified: null,
      pending: null,
      detail: `détail ${status}`,
      ...extra,
    });
    const body = checkPage(
      {
        at: new Date('2026-11-29T20:00:00Z'),
        checks: [check('moved', { location: 'https://example.org/<nouveau>' }), check('new-edition'), check('ok'), check('unreachable')],
      },
      'jeton-csrf',
    );
    for (const label of ['Déplacée', 'Nouvelle édition', 'À jour', 'Injoignable']) expect(body).toContain(`>${label}</span>`);
    // Values are escaped.
    expect(body).toContain('Nouvelle adresse : <code>https://example.org/&lt;nouveau&gt;</code>');
    expect(body).toContain('4 ressources');
  });

  test("runs: read / loaded / rejected of each run; a run's page; its quarantine paged with file, line and reason", async () => {
    // 120 rejected rows for one run (a failed run of a made-up file), in a shuffled order.
    const {
      rows: [r],
    } = await pool().query(
      `insert into runs (source, status, trigger, finished_at, rows_read, rows_loaded, rows_rejected, error)
       values ('populations', 'failed', 'test', now(), 1120, 1000, 120, 'populations: 120 lignes rejetées') returning id`,
    );
    const runId = Number(r.id);
    await pool().query(
      `insert into quarantine (run_id, source, file, line, raw, reason)
       select $1, 'populations', 'donnees_communes.csv', n, 'ligne;' || n, 'colonne COM : « x' || n || ' » n’est pas un code de commune'
         from (select n from generate_series(2, 121) n order by md5(n::text)) s`,
      [runId],
    );
    const list = await get(jar, '/operator/console/passages?source=populations');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`href="/operator/console/passages/${runId}/quarantaine"`);
    const failedRow = list.body.slice(list.body.indexOf(`data-passage="${runId}"`));
    expect(failedRow).toMatch(/data-champ="read">1\s120</);
    expect(failedRow).toMatch(/data-champ="loaded">1\s000</);

    const one = await get(jar, `/operator/console/passages/${runId}`);
    expect(one.body).toContain('Passage n° ' + runId);
    expect(one.body).toContain('populations: 120 lignes rejetées');

    const p1 = await get(jar, `/operator/console/passages/${runId}/quarantaine`);
    expect(p1.body).toMatch(/120\s+lignes\s+en\s+quarantaine,\s+lignes\s+1\s+à\s+50/);
    const p3 = await get(jar, `/operator/console/passages/${runId}/quarantaine?page=3`);
    expect(p3.statusCode).toBe(200);
    expect(p3.body).toMatch(/lignes\s+101\s+à\s+120/);
    const lines = [...p3.body.matchAll(/<td>(\d+)<\/td>\s*<td class="console-texte">colonne COM/g)].map((m) => Number(m[1]));
    expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => 102 + i));
    expect(p3.body).toContain('colonne COM : « x121 » n’est pas un code de commune');
    expect(p3.body).toContain('aria-current="page" title="Page 3"');
    expect((await get(jar, '/operator/console/passages/99999999/quarantaine')).statusCode).toBe(404);
    expect((await get(jar, '/operator/console/passages/abc')).statusCode).toBe(400);
  });

  test('the progress route gives the counts of a running run from its heartbeat, and says when newer runs began', async () => {
    const {
      rows: [r],
    } = await pool().query(
      `insert into runs (source, status, trigger, progress) values ('cog', 'running', 'test', '{"read": 5000, "loaded": 4990, "rejected": 10, "published": 0}')
       returning id`,
    );
    const id = Number(r.id);
    const res = await app.inject({ url: `/operator/console/passages/etat.json?ids=${id}&apres=${okRun}`, headers: { cookie: jar.header } });
    expect(res.statusCode).toBe(200);
    const state = res.json();
    expect(state.passages).toEqual([
      expect.objectContaining({ id, statut: 'running', libelle: 'En cours', termine: false, lues: 5000, chargees: 4990, rejetees: 10 }),
    ]);
    expect(state.nouveaux).toBeGreaterThanOrEqual(1);
    const list = await get(jar, '/operator/console/passages');
    expect(list.body).toContain(`data-passage="${id}" data-en-cours="running"`);
    expect(list.body).toContain('data-etat-url="/operator/console/passages/etat.json"');
    expect(list.body).toMatch(/<script defer src="\/static\/site\/console\.js\?v=[0-9a-f]+"><\/script>/);
    await pool().query(`update runs set status = 'interrupted', finished_at = now() where id = $1`, [id]);
    expect((await app.inject({ url: '/operator/console/passages/etat.json?ids=1,x', headers: { cookie: jar.header } })).statusCode).toBe(
      400,
    );
  });

  test('run now: a confirmation page, then the POST enqueues the run and the runs page says so', async () => {
    const confirm = await get(jar, '/operator/console/sources/cog/lancer');
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Lancer maintenant le passage de « ');
    expect(await runsQueue().getJobCounts('waiting')).toEqual({ waiting: 0 });
    const res = await post(jar, '/operator/console/sources/cog/lancer', { _csrf: csrfOf(confirm.body), force: 'oui' });
    expect(res.statusCode).toBe(303);
    const [job] = await runsQueue().getJobs(['waiting']);
    expect(job.data).toMatchObject({ source: 'cog', force: true, trigger: 'api' });
    expect(res.headers.location).toBe(`/operator/console/passages?lance=cog&travail=${job.id}`);
    const list = await get(jar, String(res.headers.location));
    expect(list.body).toContain('Passage de cog mis en file d’attente');
    expect(list.body).toContain('Travaux en attente d’un worker');
    expect(list.body).toContain('data-attente="oui"');
    expect((await get(jar, '/operator/console/sources/nope/lancer')).statusCode).toBe(404);
    await job.remove();
  });

  test('run now and build packs with Redis down (a closed port): a French page, 503 with Retry-After, within seconds', async () => {
    const confirm = await get(jar, '/operator/console/sources/cog/lancer');
    const build = await get(jar, '/operator/console/dossiers/construire');
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = `redis://127.0.0.1:${await closedPort()}`;
    resetSettings();
    try {
      for (const [url, form, what] of [
        ['/operator/console/sources/cog/lancer', { _csrf: csrfOf(confirm.body) }, 'Le passage de cog n’a pas été mis en file'],
        [
          '/operator/console/dossiers/construire',
          { _csrf: csrfOf(build.body), departements: '35' },
          'La construction des dossiers n’a pas été mise en file',
        ],
      ] as const) {
        const t0 = Date.now();
        const res = await post(jar, url, form);
        expect(Date.now() - t0).toBeLessThan(4000);
        expect(res.statusCode).toBe(503);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toContain('<h1 class="fr-mt-4w">Service indisponible</h1>');
        expect(res.body).toContain(`${what} : la file d’attente (Redis) ne répond pas ; réessayez dans un instant.`);
        expect(res.body).not.toMatch(/ECONNREFUSED|not reachable|enqueued/);
      }
    } finally {
      await Promise.all([closeQueues(), closePacksQueue()]);
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
      resetSettings();
    }
    expect(await runsQueue().getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  test('build packs: a confirmation page; bad département codes are refused; the build is enqueued and shown by département', async () => {
    const confirm = await get(jar, '/operator/console/dossiers/construire');
    expect(confirm.statusCode).toBe(200);
    const bad = await post(jar, '/operator/console/dossiers/construire', { _csrf: csrfOf(confirm.body), departements: '35, 9999, x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Code de département invalide : 9999, X.');
    const res = await post(jar, '/operator/console/dossiers/construire', { _csrf: csrfOf(confirm.body), departements: '35' });
    expect(res.statusCode).toBe(303);
    const runId = Number(/\/operator\/console\/dossiers\/(\d+)$/.exec(String(res.headers.location))![1]);
    const {
      rows: [run],
    } = await pool().query(`select source, status, job_id from runs where id = $1`, [runId]);
    expect(run).toMatchObject({ source: 'packs', status: 'queued' });
    // A second build while this one is queued: refused (one at a time), in French.
    const again = await post(jar, '/operator/console/dossiers/construire', { _csrf: csrfOf(confirm.body), departements: '35' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('Une autre construction n’est pas finie');

    // What a worker writes when the child of a département ends (the fan-out ledger).
    const buildId = String(run.job_id).replace(/^packs\./, '');
    await pool().query(
      `insert into pack_build_departements (build_id, run_id, departement, status, job_id, attempt, worker, communes, built, unchanged, failed, seconds, error)
       values ($1, $2, '35', 'failed', $3, 2, 'hote:1234', 333, 330, 0, 3, 12.5, '3 dossiers en échec')`,
      [buildId, runId, `${run.job_id}.35`],
    );
    await pool().query(
      `insert into pack_build_communes (build_id, departement, code, status, job_id, attempt, worker, error)
       values ($1, '35', '35238', 'failed', $2, 2, 'hote:1234', 'disque plein')`,
      [buildId, `${run.job_id}.35`],
    );
    const page = await get(jar, `/operator/console/dossiers/${runId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`Construction des dossiers n° ${runId}`);
    expect(page.body).toMatch(
      /<td>35<\/td>\s*<td><span class="fr-badge[^"]*fr-badge--error">Échoué<\/span><\/td>\s*<td>2<\/td>\s*<td>333<\/td>\s*<td>330<\/td>/,
    );
    expect(page.body).toContain('hote:1234');
    expect(page.body).toContain('disque plein');
    const builds = await get(jar, '/operator/console/dossiers');
    expect(builds.body).toContain(`href="/operator/console/dossiers/${runId}"`);
    // The runs page sends a pack build to its own page.
    expect((await get(jar, `/operator/console/passages/${runId}`)).headers.location).toBe(`/operator/console/dossiers/${runId}`);
  });

  test('publications and Bull Board answer behind the sign-in', async () => {
    const pubs = await get(jar, '/operator/console/publications');
    expect(pubs.statusCode).toBe(200);
    expect(pubs.body).toContain('Aucune commune inscrite.');
    const board = await get(jar, '/operator/queues');
    expect(board.statusCode).toBe(200);
    expect(board.body).toContain('<base href="/operator/queues/" />');
    const api = await app.inject({ url: '/operator/queues/api/queues', headers: { cookie: jar.header } });
    expect(api.statusCode).toBe(200);
    expect(
      api
        .json()
        .queues.map((q: { name: string }) => q.name)
        .sort(),
    ).toEqual(['packs', 'publications', 'runs']);
  });
});

describe('operator console: settings', () => {
  test('a new OPERATOR_TOKEN signs everyone out; https PUBLIC_BASE_URL makes the cookie Secure; no token: off (503)', async () => {
    const { jar } = await signIn();
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { OPERATOR_TOKEN: 'another-token-for-tests-987654321', PUBLIC_BASE_URL: 'https://dotation.example.fr' });
      resetSettings();
      const other = await buildServer();
      await other.ready();
      try {
        const old = await other.inject({ url: '/operator/console', headers: { cookie: jar.header } });
        expect(old.statusCode).toBe(303);
        expect(old.headers.location).toBe('/operator/console/connexion?suite=%2Foperator%2Fconsole&expire=1');
        const form = await other.inject({ url: '/operator/console/connexion' });
        const cookie = (form.cookies as { name: string; secure?: boolean }[]).find((c) => c.name === 'dotation_console')!;
        expect(cookie.secure).toBe(true);
      } finally {
        await other.close();
      }
      delete process.env.OPERATOR_TOKEN;
      resetSettings();
      const off = await app.inject({ url: '/operator/console/connexion', headers: { accept: 'text/html' } });
      expect(off.statusCode).toBe(503);
      expect(off.body).toContain('La console d’exploitation est désactivée : définissez OPERATOR_TOKEN.');
    } finally {
      process.env = saved;
      resetSettings();
    }
  });
});
