import { z } from 'zod';
import { parseOr400 } from './errors';

/**
 * What /openapi.json says about a route: written beside the route, with the very zod schema
 * that validates its query string.
 */
export interface RouteDoc {
  method: 'get';
  /** OpenAPI path: `/api/1/spatial/zone/{id}`. */
  path: string;
  summary: string;
  tag: string;
  query?: z.ZodObject;
  params?: Record<string, string>;
  /** Content types of the 200 answer (default application/json). */
  produces?: string[];
  /** Status codes besides 200, with what they mean. */
  errors?: Record<number, string>;
  /** OpenAPI response objects by status, used as they are (binary bodies, response headers, redirects). */
  responses?: Record<string, Record<string, unknown>>;
  /** Request headers the route reads (If-None-Match, Range…), with what they do. */
  headers?: Record<string, string>;
}

/** Parses a query string with its schema; a bad value is a 400 naming the parameter (src/server/http/errors.ts). */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  return parseOr400(schema, query, 'paramètres');
}

/** A boolean flag as udata read it: 1, true, on, yes (any case). */
export const flag = z.preprocess(
  (v) => (typeof v === 'string' ? ['1', 'true', 'on', 'yes'].includes(v.toLowerCase()) : Boolean(v)),
  z.boolean(),
);

/** Non-negative integer given as a string. */
export const intParam = (max: number) =>
  z.string().regex(/^\d+$/, 'doit être un entier positif ou nul').transform(Number).pipe(z.number().int().min(0).max(max));

export const langParam = z.enum(['fr', 'en', 'es']).optional();
