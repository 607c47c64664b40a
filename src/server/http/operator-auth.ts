import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { settings } from '../../../config/settings';
import { HttpError } from './errors';

/**
 * Authentication of the operator side, as a Fastify `preHandler` hook: a plugin adds it once
 * (`app.addHook('preHandler', requireOperator)`) and every route it declares is covered, so a new
 * operator route cannot forget it. The token is `Authorization: Bearer <OPERATOR_TOKEN>`; without
 * OPERATOR_TOKEN configured, the operator side is off (503), never open.
 */
export async function requireOperator(req: FastifyRequest): Promise<void> {
  const token = settings().OPERATOR_TOKEN;
  if (!token) throw new HttpError(503, 'interface d’exploitation désactivée : définissez OPERATOR_TOKEN');
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (!isOperatorToken(given))
    throw new HttpError(401, 'jeton d’exploitation requis : Authorization: Bearer <OPERATOR_TOKEN>', { 'www-authenticate': 'Bearer' });
}

/**
 * Whether `given` is OPERATOR_TOKEN (false when none is configured). Digests are compared, with
 * crypto.timingSafeEqual on two 32-byte SHA-256 values: constant time whatever the length of what
 * was sent, so the answer time says nothing of the token. The console's sign-in uses it too.
 */
export function isOperatorToken(given: string): boolean {
  const token = settings().OPERATOR_TOKEN;
  if (!token) return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}
