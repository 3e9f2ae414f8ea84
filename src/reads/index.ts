/**
 * Read routes over the Postgres read model, an Elysia plugin the API mounts:
 *   GET /sessions/:sessionId                        one session (latest completion)
 *   GET /users/:userId/stats                        the user's aggregates
 *   GET /users/:userId/sessions?limit=&before=      newest first, keyset pages; nextCursor
 * Each route declares the `read` scope and its contract (src/http/contract.ts). Errors are thrown
 * (ValidationError -> 422, AppError NOT_FOUND -> 404); the app's one error mapper makes the
 * problem+json responses. Reads use their own pool, never the consumer's.
 */
import { Elysia } from 'elysia';
import type { Pool } from 'pg';
import { AppError } from '../kernel/errors.ts';
import { routeContract } from '../http/contract.ts';
import {
  ListQuery,
  SessionPageSchema,
  SessionParams,
  SessionViewSchema,
  UserParams,
  UserStatsViewSchema,
  parseListRequest,
  parseSessionParams,
  parseUserParams,
} from './model.ts';
import { getSession, getUserStats, listUserSessions } from './service.ts';

export interface ReadRoutesDeps {
  readonly pool: Pool;
}

const READ_PROBLEMS = { 422: 'A path or query parameter is invalid: `issues` names it', 503: 'The read model did not answer' } as const;

export function createReadRoutes(deps: ReadRoutesDeps) {
  const { pool } = deps;
  return new Elysia({ name: 'reads' })
    .use(routeContract)
    .get(
      '/sessions/:sessionId',
      async ({ params }) => {
        const { sessionId } = parseSessionParams(params);
        const session = await getSession(pool, sessionId);
        if (session === undefined) throw new AppError('NOT_FOUND', `No session ${JSON.stringify(sessionId)}.`);
        return session;
      },
      {
        auth: 'read',
        contract: {
          summary: 'One session: its latest completion as projected into the read model',
          tags: ['read'],
          params: SessionParams,
          responses: { 200: { description: 'The session', schema: SessionViewSchema } },
          problems: {
            404: 'No such session (yet: the read model follows the topic within seconds)',
            405: '`complete` is not a session id: /sessions/complete is the batch route (POST only)',
            ...READ_PROBLEMS,
          },
        },
      },
    )
    .get(
      '/users/:userId/stats',
      async ({ params }) => {
        const { userId } = parseUserParams(params);
        const stats = await getUserStats(pool, userId);
        if (stats === undefined) throw new AppError('NOT_FOUND', `No sessions for user ${JSON.stringify(userId)}.`);
        return stats;
      },
      {
        auth: 'read',
        contract: {
          summary: "The user's aggregates over all their sessions",
          tags: ['read'],
          params: UserParams,
          responses: { 200: { description: 'The aggregates', schema: UserStatsViewSchema } },
          problems: { 404: 'No sessions for this user', ...READ_PROBLEMS },
        },
      },
    )
    .get(
      '/users/:userId/sessions',
      async ({ params, query }) => {
        const request = parseListRequest(params, query);
        const page = await listUserSessions(pool, request);
        if (page === undefined) throw new AppError('NOT_FOUND', `No sessions for user ${JSON.stringify(request.userId)}.`);
        return page;
      },
      {
        auth: 'read',
        contract: {
          summary: "The user's sessions, newest first, in keyset pages (pass nextCursor as `before`)",
          tags: ['read'],
          params: UserParams,
          query: ListQuery,
          responses: { 200: { description: 'One page', schema: SessionPageSchema } },
          problems: { 404: 'No sessions for this user', ...READ_PROBLEMS },
        },
      },
    );
}

export type { SessionPage, SessionView, UserStatsView } from './service.ts';
export { READ_QUERIES } from './queries.ts';
