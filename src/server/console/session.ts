import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureSession from '@fastify/secure-session';
import csrfProtection from '@fastify/csrf-protection';
import formBody from '@fastify/formbody';
import type { Settings } from '../../../config/settings';

/**
 * The console's sign-in: OPERATOR_TOKEN, typed once in a form, is exchanged for a session cookie
 * and never travels in a URL.
 *
 * - @fastify/secure-session: the session is the cookie itself, encrypted and authenticated
 *   (libsodium secretbox), so any number of API processes share it without a store. Its key is
 *   derived from OPERATOR_TOKEN (HKDF-SHA256): a new token signs every operator out. The cookie is
 *   HttpOnly, SameSite=Strict, Secure when PUBLIC_BASE_URL is https, scoped to /operator, and
 *   lasts OPERATOR_SESSION_HOURS from the sign-in. Signing out deletes it; a copy taken before
 *   stays valid until then (stateless: said in the README).
 * - @fastify/csrf-protection: every POST carries a token tied to a secret kept in the session.
 * - @fastify/formbody: the forms are posted as application/x-www-form-urlencoded.
 * All three are registered in the console's own plugin only (encapsulated): the public API is untouched.
 */
export const COOKIE = 'dotation_console';

declare module '@fastify/secure-session' {
  interface SessionData {
    /** Set at sign-in. */
    operateur: boolean;
    /** Sign-in time (ms since the epoch): the session's age is checked on every request. */
    depuis: number;
    _csrf: string;
  }
}

function sessionKey(token: string | undefined): Buffer {
  // No token: the console is off; a random key makes any cookie unreadable.
  if (!token) return crypto.randomBytes(32);
  return Buffer.from(crypto.hkdfSync('sha256', token, 'dotation', 'operator console session v1', 32));
}

export async function installSession(app: FastifyInstance, s: Settings): Promise<void> {
  await app.register(secureSession, {
    key: sessionKey(s.OPERATOR_TOKEN),
    cookieName: COOKIE,
    expiry: s.OPERATOR_SESSION_HOURS * 3600,
    cookie: { path: '/operator', httpOnly: true, sameSite: 'strict', secure: s.PUBLIC_BASE_URL.startsWith('https:') },
  });
  await app.register(csrfProtection, { sessionPlugin: '@fastify/secure-session' });
  await app.register(formBody, { bodyLimit: 16 * 1024 });
}

/** Whether the request carries a live operator session (signed in less than OPERATOR_SESSION_HOURS ago). */
export function signedIn(req: FastifyRequest, s: Settings): boolean {
  const session = req.session;
  if (!session || session.get('operateur') !== true) return false;
  const since = Number(session.get('depuis'));
  return Number.isFinite(since) && Date.now() - since < s.OPERATOR_SESSION_HOURS * 3600 * 1000;
}

/** After a good token: a new session (nothing kept from before the sign-in, a new CSRF secret). */
export function signIn(req: FastifyRequest): void {
  req.session.regenerate();
  req.session.set('operateur', true);
  req.session.set('depuis', Date.now());
}
