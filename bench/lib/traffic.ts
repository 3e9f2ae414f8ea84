/**
 * Realistic write traffic for the load generator, as a pure, seeded plan: every call to `next()`
 * says what to send and what a correct server must answer. Shape:
 * - every session id is new (a user completes many sessions, a session completes once);
 * - users follow a Zipf-like skew (a few very active users, a long tail);
 * - every valid request carries an Idempotency-Key, and a share of requests are client retries
 *   that resend an earlier request byte for byte (same key): the answer must be the same event id;
 * - a share of bodies are invalid in ways clients really get wrong (expected answer: 422);
 * - a share of requests use the batch route with a few invalid items (expected: 202 or 207 with
 *   one result per item).
 */
import { ZipfSampler, mulberry32 } from './zipf.ts';

export interface TrafficMix {
  /** Share of requests that resend an earlier valid single request (same Idempotency-Key). */
  readonly retryShare: number;
  /** Share of requests with a body the schema refuses. */
  readonly invalidShare: number;
  /** Share of requests that go to the batch route. */
  readonly batchShare: number;
  readonly batchSize: number;
  /** Share of invalid items inside a batch. */
  readonly batchInvalidShare: number;
}

export const DEFAULT_MIX: TrafficMix = {
  retryShare: 0.05,
  invalidShare: 0.05,
  batchShare: 0.02,
  batchSize: 10,
  batchInvalidShare: 0.1,
};

export interface TrafficOptions {
  readonly seed: number;
  /** Distinct users and the Zipf exponent of their activity. */
  readonly users: number;
  readonly zipfS: number;
  readonly mix?: TrafficMix;
  /** Prefix that makes this run's session and user ids its own. */
  readonly idPrefix: string;
  /** Injected clock (ms), for timestamps in the bodies. */
  readonly now: () => number;
}

/** One item the server should accept, with what the read model must end up holding. */
export interface ValidItem {
  readonly sessionId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
}

export type InvalidKind = 'missing-user' | 'ends-before-start' | 'bad-outcome' | 'score-not-a-number' | 'unknown-field';
const INVALID_KINDS: readonly InvalidKind[] = ['missing-user', 'ends-before-start', 'bad-outcome', 'score-not-a-number', 'unknown-field'];

interface Http {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type PlannedRequest =
  | ({ readonly kind: 'single'; readonly item: ValidItem } & Http)
  /** A byte-identical resend of request `of` (its plan index). */
  | ({ readonly kind: 'retry'; readonly of: number; readonly item: ValidItem } & Http)
  | ({ readonly kind: 'invalid'; readonly invalid: InvalidKind } & Http)
  /** items[i] is undefined where the batch holds an invalid item (expected: rejected). */
  | ({ readonly kind: 'batch'; readonly items: ReadonlyArray<ValidItem | undefined> } & Http);

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const OUTCOMES = ['completed', 'completed', 'completed', 'failed', 'abandoned'] as const;
const RECENT = 2_000;

export interface Traffic {
  next(): PlannedRequest & { readonly index: number };
}

export function createTraffic(options: TrafficOptions): Traffic {
  const mix = options.mix ?? DEFAULT_MIX;
  const random = mulberry32(options.seed);
  const users = new ZipfSampler(options.users, options.zipfS, random);
  const recent: Array<{ index: number; request: PlannedRequest & { kind: 'single' } }> = [];
  let index = 0;
  let sessions = 0;
  const hex = () => Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0');

  const completion = () => {
    const completedAt = options.now() - Math.floor(random() * 2_000);
    const durationMs = 1_000 + Math.floor(random() * 3_600_000);
    const body: Record<string, unknown> = {
      userId: `${options.idPrefix}u${users.sample()}`,
      startedAt: new Date(completedAt - durationMs).toISOString(),
      completedAt: new Date(completedAt).toISOString(),
      outcome: OUTCOMES[Math.floor(random() * OUTCOMES.length)],
    };
    if (random() < 0.8) body.score = Math.round(random() * 100_000) / 100;
    if (random() < 0.5) body.attributes = { level: Math.floor(random() * 50), mode: random() < 0.5 ? 'ranked' : 'casual' };
    return body;
  };
  const newSessionId = () => `${options.idPrefix}s${++sessions}-${hex()}`;
  const newKey = () => `${hex()}${hex()}-${index}`;

  const invalidBody = (kind: InvalidKind): Record<string, unknown> => {
    const b = completion();
    switch (kind) {
      case 'missing-user':
        delete b.userId;
        return b;
      case 'ends-before-start':
        return { ...b, startedAt: b.completedAt, completedAt: b.startedAt };
      case 'bad-outcome':
        return { ...b, outcome: 'finished' };
      case 'score-not-a-number':
        return { ...b, score: 'high' };
      case 'unknown-field':
        return { ...b, userid: b.userId };
      default: {
        const never: never = kind;
        throw new Error(`unknown invalid kind ${String(never)}`);
      }
    }
  };

  const single = (): PlannedRequest & { kind: 'single' } => {
    const sessionId = newSessionId();
    const body = completion();
    const idempotencyKey = newKey();
    return {
      kind: 'single',
      item: { sessionId, userId: body.userId as string, idempotencyKey },
      path: `/sessions/${sessionId}/complete`,
      headers: { ...JSON_HEADERS, 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    };
  };

  const plan = (): PlannedRequest => {
    const u = random();
    if (u < mix.retryShare && recent.length > 0) {
      const original = recent[Math.floor(random() * recent.length)]!;
      const { item, path, headers, body } = original.request;
      return { kind: 'retry', of: original.index, item, path, headers, body };
    }
    if (u < mix.retryShare + mix.invalidShare) {
      const invalid = INVALID_KINDS[Math.floor(random() * INVALID_KINDS.length)]!;
      const sessionId = newSessionId();
      return { kind: 'invalid', invalid, path: `/sessions/${sessionId}/complete`, headers: JSON_HEADERS, body: JSON.stringify(invalidBody(invalid)) };
    }
    if (u < mix.retryShare + mix.invalidShare + mix.batchShare) {
      const items: Array<ValidItem | undefined> = [];
      const bodies: unknown[] = [];
      for (let i = 0; i < mix.batchSize; i++) {
        const sessionId = newSessionId();
        if (random() < mix.batchInvalidShare) {
          items.push(undefined);
          bodies.push({ sessionId, ...invalidBody(INVALID_KINDS[Math.floor(random() * INVALID_KINDS.length)]!) });
        } else {
          const b = completion();
          const idempotencyKey = newKey();
          items.push({ sessionId, userId: b.userId as string, idempotencyKey });
          bodies.push({ sessionId, idempotencyKey, ...b });
        }
      }
      return { kind: 'batch', items, path: '/sessions/complete', headers: JSON_HEADERS, body: JSON.stringify({ items: bodies }) };
    }
    const s = single();
    recent.push({ index, request: s });
    if (recent.length > RECENT) recent.shift();
    return s;
  };

  return {
    next() {
      const p = plan();
      return { ...p, index: index++ };
    },
  };
}

/**
 * Bodies for oha's -Z (one JSON per line, one line picked at random per request): `n` valid
 * completions, one per user (so oha's uniform pick spreads load evenly over `n` users and over
 * every partition), completed shortly before `nowMs` so they stay valid for the whole run.
 */
export function ohaBodyLines(n: number, seed: number, nowMs: number, userPrefix = 'bench-u'): string[] {
  const random = mulberry32(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const completedAt = nowMs - 1_000 - Math.floor(random() * 60_000);
    const durationMs = 1_000 + Math.floor(random() * 3_600_000);
    const body: Record<string, unknown> = {
      userId: `${userPrefix}${i}`,
      startedAt: new Date(completedAt - durationMs).toISOString(),
      completedAt: new Date(completedAt).toISOString(),
      outcome: OUTCOMES[Math.floor(random() * OUTCOMES.length)],
    };
    if (random() < 0.8) body.score = Math.round(random() * 100_000) / 100;
    if (random() < 0.5) body.attributes = { level: Math.floor(random() * 50), mode: random() < 0.5 ? 'ranked' : 'casual' };
    lines.push(JSON.stringify(body));
  }
  return lines;
}
