/**
 * Baseline (b): the seed's "before" system. Each request is validated (the API's own zod
 * schemas, so validation costs the same), then the session is INSERTed into Postgres and that
 * user's stats are updated in the same transaction, and only after the commit does the client
 * get its answer (202, like the API). Tables: the read model's own DDL, in a schema of its own
 * (argv), so it never touches the real read model.
 *
 *   bun bench/baselines/sync-postgres.ts <port> <schema> [poolSize=10]
 *
 * Bun rather than Node: the same runtime as the API, so the comparison is about the design
 * (a synchronous database transaction per request vs a group-committed append to Kafka), not
 * about the runtime. It gets a fair shot: one round trip per request (a writable CTE: insert
 * the session, then upsert the user's stats incrementally, one implicit transaction), a pool of
 * 10 connections (the project's PG_POOL_MAX default), and a retry of the same session is a
 * no-op (ON CONFLICT DO NOTHING feeds no row to the stats update).
 */
import pg from 'pg';
import { createReadModelSchema } from '../../consumers/postgres/schema.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { BatchBody, BatchItem, CompleteSessionBody, SessionParams } from '../../src/sessions/model.ts';

const port = Number(process.argv[2] ?? 3903);
const schema = process.argv[3] ?? '';
const poolSize = Number(process.argv[4] ?? 10);
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`usage: sync-postgres.ts <port> <schema> [poolSize]; bad schema ${JSON.stringify(schema)}`);

const config = loadConfig(process.env);
const admin = new pg.Client({ connectionString: config.DATABASE_URL });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
if (exists.rowCount === 0) await createReadModelSchema(admin, schema);
await admin.end();

const pool = new pg.Pool({
  connectionString: config.DATABASE_URL,
  max: poolSize,
  application_name: 'bench-sync-postgres',
  options: `-c search_path=${schema}`,
});
pool.on('error', () => undefined);

const INSERT_AND_COUNT = `
WITH s AS (
  INSERT INTO sessions (session_id, event_id, user_id, started_at, completed_at, duration_ms, score, outcome,
                        attributes, received_at, projected_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
  ON CONFLICT (session_id) DO NOTHING
  RETURNING user_id, duration_ms, score, outcome, completed_at
)
INSERT INTO user_stats AS u (user_id, sessions_completed, total_duration_ms, avg_duration_ms, best_score, avg_score,
                             scored_sessions, score_sum, completed_count, failed_count, abandoned_count,
                             last_completed_at, updated_at)
SELECT user_id, 1, duration_ms, duration_ms, score, score, (score IS NOT NULL)::int, coalesce(score, 0)::numeric,
       (outcome = 'completed')::int, (outcome = 'failed')::int, (outcome = 'abandoned')::int, completed_at, now()
FROM s
ON CONFLICT (user_id) DO UPDATE SET
  sessions_completed = u.sessions_completed + 1,
  total_duration_ms  = u.total_duration_ms + EXCLUDED.total_duration_ms,
  avg_duration_ms    = ((u.total_duration_ms + EXCLUDED.total_duration_ms)::numeric / (u.sessions_completed + 1))::float8,
  best_score         = greatest(u.best_score, EXCLUDED.best_score),
  scored_sessions    = u.scored_sessions + EXCLUDED.scored_sessions,
  score_sum          = u.score_sum + EXCLUDED.score_sum,
  avg_score          = ((u.score_sum + EXCLUDED.score_sum) / NULLIF(u.scored_sessions + EXCLUDED.scored_sessions, 0))::float8,
  completed_count    = u.completed_count + EXCLUDED.completed_count,
  failed_count       = u.failed_count + EXCLUDED.failed_count,
  abandoned_count    = u.abandoned_count + EXCLUDED.abandoned_count,
  last_completed_at  = greatest(u.last_completed_at, EXCLUDED.last_completed_at),
  updated_at         = now()`;

interface Completion {
  readonly sessionId: string;
  readonly userId: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly score?: number | undefined;
  readonly outcome: string;
  readonly attributes?: Record<string, unknown> | undefined;
}

async function write(c: Completion): Promise<string> {
  const eventId = Bun.randomUUIDv7();
  await pool.query(INSERT_AND_COUNT, [
    c.sessionId,
    eventId,
    c.userId,
    c.startedAt,
    c.completedAt,
    Date.parse(c.completedAt) - Date.parse(c.startedAt),
    c.score ?? null,
    c.outcome,
    JSON.stringify(c.attributes ?? {}),
    new Date().toISOString(),
  ]);
  return eventId;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const problem = (status: number, detail: string, issues?: unknown) =>
  new Response(JSON.stringify({ status, detail, ...(issues ? { issues } : {}) }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
const issuesOf = (e: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }) =>
  e.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

async function readJson(req: Request): Promise<{ ok: true; value: unknown } | { ok: false; res: Response }> {
  try {
    return { ok: true, value: await req.json() };
  } catch {
    return { ok: false, res: problem(400, 'malformed JSON') };
  }
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  routes: {
    '/healthz': () => json(200, { status: 'ok' }),
    '/sessions/complete': {
      POST: async (req) => {
        const body = await readJson(req);
        if (!body.ok) return body.res;
        const envelope = BatchBody.safeParse(body.value);
        if (!envelope.success) return problem(422, 'invalid batch', issuesOf(envelope.error));
        const results = await Promise.all(
          envelope.data.items.map(async (raw, index) => {
            const item = BatchItem.safeParse(raw);
            if (!item.success) return { index, status: 'rejected' as const, issues: issuesOf(item.error) };
            try {
              return { index, status: 'accepted' as const, eventId: await write(item.data), sessionId: item.data.sessionId };
            } catch {
              return { index, status: 'failed' as const };
            }
          }),
        );
        const accepted = results.filter((r) => r.status === 'accepted').length;
        return json(accepted === results.length ? 202 : 207, { accepted, results });
      },
    },
    '/sessions/:sessionId/complete': {
      POST: async (req) => {
        const params = SessionParams.safeParse(req.params);
        const body = await readJson(req);
        if (!body.ok) return body.res;
        const parsed = CompleteSessionBody.safeParse(body.value);
        if (!params.success || !parsed.success) {
          return problem(422, 'invalid request', [...(params.success ? [] : issuesOf(params.error)), ...(parsed.success ? [] : issuesOf(parsed.error))]);
        }
        try {
          const eventId = await write({ ...parsed.data, sessionId: params.data.sessionId });
          return json(202, { eventId, sessionId: params.data.sessionId, status: 'accepted' });
        } catch (error) {
          return problem(503, `database write failed: ${(error as Error).message}`);
        }
      },
    },
  },
  fetch: () => problem(404, 'not found'),
});
console.log(JSON.stringify({ listening: server.url.href, schema, poolSize }));
process.on('SIGTERM', () => {
  void server.stop(true);
  void pool.end().finally(() => process.exit(0));
});
