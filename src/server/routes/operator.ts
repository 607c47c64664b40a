import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sourceRegistry } from '../../../config/sources';
import { pool } from '../../db/pool';
import { enqueueRun } from '../../queue/queue';
import { RedisUnavailableError, REQUEST_WAIT_MS } from '../../queue/connection';
import { checkSources, BROKEN } from '../../harvest/check';
import { settings } from '../../../config/settings';
import { HttpError, parseOr400, queueUnavailable } from '../http/errors';
import { requireOperator } from '../http/operator-auth';

/**
 * The operator side: sources with their schedule and last run, recent runs, a run's rejected
 * rows, and enqueueing a run. Every route of this plugin is behind the `requireOperator` hook
 * (Bearer OPERATOR_TOKEN; off with 503 when no token is configured).
 */
const RunsQuery = z.object({
  source: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'identifiant de source invalide')
    .optional(),
  status: z.enum(['queued', 'running', 'succeeded', 'unchanged', 'failed', 'interrupted', 'refused']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const CheckQuery = z.object({
  /** Sources to check, comma-separated; all of them when absent. */
  source: z
    .string()
    .regex(/^[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*$/, 'identifiants de sources invalides')
    .optional(),
});
const RunParams = z.object({ id: z.coerce.number().int().positive() });
const EnqueueBody = z.object({ force: z.boolean().optional() }).default({});

export default async function operator(app: FastifyInstance): Promise<void> {
  // This plugin is encapsulated (registered by src/server/app.ts with app.register): the hook covers its routes only.
  app.addHook('preHandler', requireOperator);

  app.get('/operator/sources', async () => {
    const { rows } = await pool().query(
      `select distinct on (source) source, id, status, started_at, finished_at, millesime, rows_read, rows_rejected, error
         from runs order by source, id desc`,
    );
    const last = new Map(rows.map((r) => [r.source, r]));
    return [...sourceRegistry().values()].map(({ source: s }) => ({
      id: s.id,
      titre: s.title,
      producteur: s.producer,
      licence: s.licence.id,
      planification: s.schedule,
      dernierePassage: last.get(s.id) ?? null,
    }));
  });

  // Asks upstream whether each declared resource is there and which edition it is; loads nothing.
  app.get('/operator/sources/check', async (req) => {
    const q = parseOr400(CheckQuery, req.query);
    if (settings().NETWORK === 'never') throw new HttpError(503, 'vérification impossible : le réseau est désactivé (NETWORK=never)');
    const ids = q.source ? q.source.split(',') : [...sourceRegistry().keys()];
    const unknown = ids.filter((id) => !sourceRegistry().has(id));
    if (unknown.length) throw new HttpError(404, `source inconnue : ${unknown.join(', ')}`);
    const ressources = await checkSources(
      pool(),
      settings(),
      ids.map((id) => sourceRegistry().get(id)!.source),
    );
    return { verifieLe: new Date().toISOString(), aCorriger: ressources.filter((r) => BROKEN.has(r.status)).length, ressources };
  });

  app.get('/operator/runs', async (req) => {
    const q = parseOr400(RunsQuery, req.query);
    const { rows } = await pool().query(
      `select id, source, status, trigger, job_id, attempt, millesime, started_at, finished_at, bytes, rows_read, rows_loaded,
              rows_rejected, rows_published, progress, error
         from runs where ($1::text is null or source = $1) and ($2::text is null or status = $2) order by id desc limit $3`,
      [q.source ?? null, q.status ?? null, q.limit],
    );
    return rows;
  });

  app.get('/operator/runs/:id/quarantine', async (req) => {
    const p = parseOr400(RunParams, req.params, 'chemin');
    const {
      rows: [run],
    } = await pool().query(`select id, source, rows_rejected from runs where id = $1`, [p.id]);
    if (!run) throw new HttpError(404, `aucun passage n° ${p.id}`);
    const { rows } = await pool().query(`select file, line, reason, raw from quarantine where run_id = $1 order by id limit 1000`, [p.id]);
    return { run: run.id, source: run.source, rejected: Number(run.rows_rejected), rows };
  });

  app.post('/operator/runs/:source', async (req, reply) => {
    const source = (req.params as { source: string }).source;
    if (!sourceRegistry().has(source)) throw new HttpError(404, `source inconnue : « ${source} »`);
    const body = parseOr400(EnqueueBody, req.body, 'corps');
    // Redis down: a 503 with Retry-After within REQUEST_WAIT_MS, not a request left hanging nor a 500.
    const job = await enqueueRun(source, { force: body.force, trigger: 'api', redisWaitMs: REQUEST_WAIT_MS }).catch((err: unknown) => {
      throw err instanceof RedisUnavailableError ? queueUnavailable(`le passage de ${source} n’a pas été mis en file`) : err;
    });
    return reply.code(202).send({ job: job.id, source });
  });
}
