/**
 * How a feature plugin declares its HTTP contract, on each route:
 *
 *   .get('/users/:userId/stats', handler, { auth: 'read', contract: { summary, params, responses } })
 *
 * `auth` says who may call the route (`ingest`, `read`, or `open` for probes, docs and static
 * pages); `contract` carries the zod schemas the handler validates with and the answers it
 * gives, from which src/http/openapi.ts generates /openapi.json. Both are Elysia macros that add
 * no work to a request: the app (src/http/app.ts) reads them from its route table once, refuses
 * to start when a route lacks either (deny by default), and enforces `auth` for the route Elysia
 * actually resolved.
 *
 * Handlers validate with the same schemas through their feature's parse functions rather than
 * Elysia's own validation: a 422 then lists every failing field of the path, headers and body at
 * once (Elysia stops at the first failing part), and the write path validates each body once.
 *
 * This is the edge that features use: src/http/ never imports a feature.
 */
import { Elysia } from 'elysia';
import type { z } from 'zod';
import type { Scope } from '../kernel/api-keys.ts';

/** Who may call a route: an API-key scope, or `open` (no key). */
export type Access = Scope | 'open';
export const ACCESS: readonly Access[] = ['ingest', 'read', 'open'];

export interface ResponseSpec {
  readonly description: string;
  /** The body's schema; omitted for bodies that are not JSON (pages, assets, metrics text). */
  readonly schema?: z.ZodType;
  /** Media types of the body (default application/json). */
  readonly contentTypes?: readonly string[];
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: Record<string, unknown> }>>;
}

/** Problem statuses a route answers itself (the edge adds 400, 401, 403, 429 and 503 draining). */
export type ProblemStatus = 404 | 405 | 413 | 415 | 422 | 503;

export interface RouteContract {
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly headers?: z.ZodObject;
  /** A JSON body, read under `maxBytes` (413 past it, 415 when not JSON, 400 when malformed). */
  readonly body?: { readonly schema: z.ZodType; readonly maxBytes: number; readonly description?: string };
  /** The success answers, by status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Problem+json answers the route gives, with when. */
  readonly problems?: Readonly<Partial<Record<ProblemStatus, string>>>;
  /** False for probes and scrapes, which keep answering while the process drains. */
  readonly drains?: boolean;
}

/**
 * The two declarations. A feature plugin `.use()`s this and passes `auth` and `contract` on each
 * route; Elysia keeps both in the route's hooks, where the app reads them.
 */
export const routeContract = new Elysia({ name: 'route-contract' }).macro({
  auth: (_access: Access) => ({}),
  contract: (_contract: RouteContract) => ({}),
});

/** What the app reads back from a route. */
export interface DeclaredRoute {
  readonly method: string;
  readonly path: string;
  readonly auth: Access;
  readonly contract: RouteContract;
}

/**
 * The routes of an app with their declarations; throws naming every route that lacks `auth` or
 * `contract`, so an undeclared route cannot be served (deny by default).
 */
export function declaredRoutes(routes: readonly { method: string; path: string; hooks?: unknown }[]): DeclaredRoute[] {
  const missing: string[] = [];
  const out: DeclaredRoute[] = [];
  for (const r of routes) {
    const hooks = (r.hooks ?? {}) as { auth?: unknown; contract?: unknown };
    const auth = hooks.auth;
    const contract = hooks.contract as RouteContract | undefined;
    if (typeof auth !== 'string' || !(ACCESS as readonly string[]).includes(auth)) {
      missing.push(`${r.method} ${r.path}: no \`auth\` (${ACCESS.join(' | ')})`);
      continue;
    }
    if (contract === undefined || typeof contract.summary !== 'string') {
      missing.push(`${r.method} ${r.path}: no \`contract\` (its schemas and answers for /openapi.json)`);
      continue;
    }
    out.push({ method: r.method.toUpperCase(), path: r.path, auth: auth as Access, contract });
  }
  if (missing.length > 0) {
    throw new Error(`Every route must declare who may call it and its contract (deny by default):\n  ${missing.join('\n  ')}`);
  }
  return out;
}
