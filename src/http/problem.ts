/**
 * The one error mapper of the HTTP edge: every error becomes an RFC 9457 problem+json response.
 * Client mistakes map to 4xx with the field paths at fault; load shedding and broker trouble to
 * 503 with Retry-After; anything unexpected to a 500 that reveals nothing internal.
 */
import { z } from 'zod';
import { AppError, type ErrorCode, ErrorCodes, type FieldIssue, ValidationError, isAppError } from '../kernel/errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  MALFORMED_JSON: 400,
  BAD_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  BROKER_TIMEOUT: 503,
  BROKER_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  STORE_UNAVAILABLE: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Issues listed in one answer at most, and per batch item; the rest are counted in `issuesOmitted`. */
export const MAX_ISSUES_PER_RESPONSE = 100;
export const MAX_ISSUES_PER_ITEM = 10;
/** Longer paths and messages (an unknown key is echoed in its path) are cut to this many characters. */
const MAX_ISSUE_TEXT = 160;

export const IssueSchema = z.object({ path: z.string(), message: z.string() });

/** The problem document (RFC 9457) every error answer carries; documented in /openapi.json. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    issues: z.array(IssueSchema).max(MAX_ISSUES_PER_RESPONSE).optional(),
    issuesOmitted: z.int().min(1).optional(),
  })
  .meta({ title: 'Problem' });

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly requestId?: string;
  readonly issues?: readonly FieldIssue[];
  readonly issuesOmitted?: number;
}

const cut = (text: string): string => (text.length <= MAX_ISSUE_TEXT ? text : `${text.slice(0, MAX_ISSUE_TEXT - 1)}…`);

/**
 * At most `max` issues, each with its path and message cut to a bounded length, and how many
 * were left out: a 1 MiB body of unknown keys must not come back as a many-megabyte answer.
 */
export function limitIssues(issues: readonly FieldIssue[], max: number): { issues: FieldIssue[]; omitted: number } {
  const kept = issues.slice(0, Math.max(0, max)).map((i) => ({ path: cut(i.path), message: cut(i.message) }));
  return { issues: kept, omitted: issues.length - kept.length };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function statusOf(error: AppError): number {
  return STATUS[error.code] ?? 500;
}

function issuesFields(all: readonly FieldIssue[]): { issues: FieldIssue[]; issuesOmitted?: number } {
  const { issues, omitted } = limitIssues(all, MAX_ISSUES_PER_RESPONSE);
  return omitted > 0 ? { issues, issuesOmitted: omitted } : { issues };
}

/** Maps any thrown value to a problem document plus the headers it needs. */
export function toProblem(
  error: unknown,
  context: { instance?: string; requestId?: string; retryAfterSeconds: number },
): { problem: Problem; headers: Record<string, string> } {
  const app = isAppError(error) ? error : new AppError('INTERNAL', 'An unexpected error occurred.', { cause: error });
  const status = statusOf(app);
  const problem: Problem = {
    type: `urn:session-pipeline:problem:${app.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: status === 500 ? 'An unexpected error occurred.' : app.message,
    code: app.code,
    ...(context.instance === undefined ? {} : { instance: context.instance }),
    ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
    ...(app instanceof ValidationError ? issuesFields(app.issues) : {}),
  };
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (status === 503 || status === 429) {
    const own = app.details?.['retryAfterSeconds'];
    headers['retry-after'] = String(typeof own === 'number' ? own : context.retryAfterSeconds);
  }
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  const allow = app.details?.['allow'];
  if (status === 405 && typeof allow === 'string') headers['allow'] = allow;
  return { problem, headers };
}

export function problemResponse(
  error: unknown,
  context: { instance?: string; requestId?: string; retryAfterSeconds: number },
  extraHeaders: Record<string, string> = {},
): Response {
  const { problem, headers } = toProblem(error, context);
  return new Response(JSON.stringify(problem), { status: problem.status, headers: { ...extraHeaders, ...headers } });
}
