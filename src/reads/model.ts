/**
 * Request schemas of the read routes, and the keyset cursor. The one place read input is
 * validated: ids are SafeId (the event module's), limit an integer in range, `before` a cursor
 * this API issued. Failures throw a ValidationError whose paths name the field
 * (`params.userId`, `query.limit`, `query.before`); the app's error mapper makes the 422.
 */
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../kernel/errors.ts';
import { IsoInstant, OUTCOMES, SafeId } from '../kernel/events/session-completed.ts';
import type { SessionView, UserStats } from '../kernel/read-model.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** GET /sessions/complete is the batch route's path (a 405), never a session id. */
export const SessionParams = z.object({ sessionId: SafeId.meta({ not: { const: 'complete' } }) });
export const UserParams = z.object({ userId: SafeId });
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).meta({ type: 'integer', description: `Page size (default ${DEFAULT_PAGE_SIZE})` }),
  before: z
    .string()
    .min(1)
    .max(512)
    .meta({ pattern: '^[A-Za-z0-9_-]+$', description: 'The nextCursor of the previous page (opaque: only cursors this API issued are valid)' })
    .optional(),
});

const Instant = z.iso.datetime();
export const SessionViewSchema = z.object({
  sessionId: SafeId,
  userId: SafeId,
  eventId: z.uuid(),
  startedAt: Instant,
  completedAt: Instant,
  durationMs: z.number(),
  score: z.number().nullable(),
  outcome: z.enum(OUTCOMES),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  receivedAt: Instant,
  projectedAt: Instant,
});
export const UserStatsViewSchema = z.object({
  userId: SafeId,
  sessionsCompleted: z.number(),
  totalDurationMs: z.number(),
  avgDurationMs: z.number(),
  bestScore: z.number().nullable(),
  avgScore: z.number().nullable(),
  scoredSessions: z.number(),
  outcomes: z.object({ completed: z.number(), failed: z.number(), abandoned: z.number() }),
  lastCompletedAt: Instant,
  updatedAt: Instant,
});
export const SessionPageSchema = z.object({
  userId: SafeId,
  items: z.array(SessionViewSchema),
  nextCursor: z.string().nullable(),
});
// The documented answers are the views the service returns (a compile error when they drift).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const viewsMatch: [Same<z.infer<typeof SessionViewSchema>, SessionView>, Same<Omit<z.infer<typeof UserStatsViewSchema>, 'updatedAt'>, UserStats>] = [true, true];
void viewsMatch;

/** Position of the last item of a page: the next page starts strictly after it. */
export interface Cursor {
  readonly completedAt: string;
  readonly sessionId: string;
}

export interface ListRequest {
  readonly userId: string;
  readonly limit: number;
  readonly before: Cursor | undefined;
}

const CursorTuple = z.tuple([IsoInstant, SafeId]);

/** Opaque to clients: base64url of `[completedAt, sessionId]`. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.completedAt, cursor.sessionId])).toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = CursorTuple.safeParse(raw);
  return parsed.success ? { completedAt: parsed.data[0], sessionId: parsed.data[1] } : undefined;
}

function issuesOf(where: 'params' | 'query', error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
}

export function parseSessionParams(params: unknown): { sessionId: string } {
  const parsed = SessionParams.safeParse(params ?? {});
  if (!parsed.success) throw new ValidationError(issuesOf('params', parsed.error));
  return parsed.data;
}

export function parseUserParams(params: unknown): { userId: string } {
  const parsed = UserParams.safeParse(params ?? {});
  if (!parsed.success) throw new ValidationError(issuesOf('params', parsed.error));
  return parsed.data;
}

export function parseListRequest(params: unknown, query: unknown): ListRequest {
  const issues: FieldIssue[] = [];
  const p = UserParams.safeParse(params ?? {});
  if (!p.success) issues.push(...issuesOf('params', p.error));
  const q = ListQuery.safeParse(query ?? {});
  if (!q.success) issues.push(...issuesOf('query', q.error));
  let before: Cursor | undefined;
  if (q.success && q.data.before !== undefined) {
    before = decodeCursor(q.data.before);
    if (before === undefined) issues.push({ path: 'query.before', message: 'not a cursor issued by this API (use nextCursor)' });
  }
  if (!p.success || !q.success || issues.length > 0) throw new ValidationError(issues);
  return { userId: p.data.userId, limit: q.data.limit, before };
}
