/**
 * Read routes over the Postgres read model, an Elysia plugin the API mounts:
 *   GET /sessions/:sessionId                        one session (latest completion)
 *   GET /users/:userId/stats                        the user's aggregates
 *   GET /users/:userId/sessions?limit=&before=      newest first, keyset pages; nextCursor
 * Errors are thrown (ValidationError -> 422, AppError NOT_FOUND -> 404); the app's one error
 * mapper makes the problem+json responses. Reads use their own pool, never the consumer's.
 */
import { Elysia } from 'elysia';
import type { Pool } from 'pg';
import { AppError } from '../kernel/errors.ts';
import { parseListRequest, parseSessionParams, parseUserParams } from './model.ts';
import { getSession, getUserStats, listUserSessions } from './service.ts';

export interface ReadRoutesDeps {
  readonly pool: Pool;
}

export function createReadRoutes(deps: ReadRoutesDeps) {
  const { pool } = deps;
  return new Elysia({ name: 'reads' })
    .get('/sessions/:sessionId', async ({ params }) => {
      const { sessionId } = parseSessionParams(params);
      const session = await getSession(pool, sessionId);
      if (session === undefined) throw new AppError('NOT_FOUND', `No session ${JSON.stringify(sessionId)}.`);
      return session;
    })
    .get('/users/:userId/stats', async ({ params }) => {
      const { userId } = parseUserParams(params);
      const stats = await getUserStats(pool, userId);
      if (stats === undefined) throw new AppError('NOT_FOUND', `No sessions for user ${JSON.stringify(userId)}.`);
      return stats;
    })
    .get('/users/:userId/sessions', async ({ params, query }) => {
      const request = parseListRequest(params, query);
      const page = await listUserSessions(pool, request);
      if (page === undefined) throw new AppError('NOT_FOUND', `No sessions for user ${JSON.stringify(request.userId)}.`);
      return page;
    });
}

export type { SessionPage, SessionView, UserStatsView } from './service.ts';
export { READ_QUERIES } from './queries.ts';
