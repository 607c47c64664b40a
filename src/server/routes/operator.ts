import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { settings } from '../../../config/settings';
import { sourceRegistry } from '../../../config/sources';
import { pool } from '../../db/pool';
import { enqueueRun } from '../../queue/queue';

/**
 * The operator side: sources with their schedule and last run, recent runs, a run's rejected
 * rows, and enqueueing a run. Every route needs `Authorization: Bearer <OPERATOR_TOKEN>`;
 * without OPERATOR_TOKEN set, the operator API is off (503), never open.
 */
function authorised(req: FastifyRequest, reply: FastifyReply): boolean {
  const token = settings().OPERATOR_TOKEN;
  if (!token) {
    reply.code(503).send({ message: 'operator API disabled: set OPERATOR_TOKEN' });
    return false;
  }
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  if (!crypto.timingSafeEqual(a, b)) {
    reply.code(401).header('www-authenticate', 'Bearer').send({ message: 'operator token required' });
    return false;
  }
  return true;
}

const RunsQuery = z.object({
  source: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .optional(),
  status: z.enum(['queued', 'running', 'succeeded', 'unchanged', 'failed', 'interrupted']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const RunParams = z.object({ id: z.coerce.number().int().positive() });
const EnqueueBody = z.object({ force: z.boolean().optional() }).default({});

function bad(reply: FastifyReply, err: z.ZodError): FastifyReply {
  return reply.code(400).send({ message: err.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });
}

export default async function operator(app: FastifyInstance): Promise<void> {
  app.get('/operator/sources', async (req, reply) => {
    if (!authorised(req, reply)) return reply;
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

  app.get('/operator/runs', async (req, reply) => {
    if (!authorised(req, reply)) return reply;
    const q = RunsQuery.safeParse(req.query);
    if (!q.success) return bad(reply, q.error);
    const { rows } = await pool().query(
      `select id, source, status, trigger, job_id, attempt, millesime, started_at, finished_at, bytes, rows_read, rows_loaded,
              rows_rejected, rows_published, progress, error
         from runs where ($1::text is null or source = $1) and ($2::text is null or status = $2) order by id desc limit $3`,
      [q.data.source ?? null, q.data.status ?? null, q.data.limit],
    );
    return rows;
  });

  app.get('/operator/runs/:id/quarantine', async (req, reply) => {
    if (!authorised(req, reply)) return reply;
    const p = RunParams.safeParse(req.params);
    if (!p.success) return bad(reply, p.error);
    const {
      rows: [run],
    } = await pool().query(`select id, source, rows_rejected from runs where id = $1`, [p.data.id]);
    if (!run) return reply.code(404).send({ message: `no run ${p.data.id}` });
    const { rows } = await pool().query(`select file, line, reason, raw from quarantine where run_id = $1 order by id limit 1000`, [
      p.data.id,
    ]);
    return { run: run.id, source: run.source, rejected: Number(run.rows_rejected), rows };
  });

  app.post('/operator/runs/:source', async (req, reply) => {
    if (!authorised(req, reply)) return reply;
    const source = (req.params as { source: string }).source;
    if (!sourceRegistry().has(source)) return reply.code(404).send({ message: `unknown source '${source}'` });
    const body = EnqueueBody.safeParse(req.body ?? {});
    if (!body.success) return bad(reply, body.error);
    const job = await enqueueRun(source, { force: body.data.force, trigger: 'api' });
    return reply.code(202).send({ job: job.id, source });
  });
}
