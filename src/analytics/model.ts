/**
 * Query schemas of the analytics routes: the one place request input is validated. Everything
 * that reaches SQL text leaves here as an integer or a member of a fixed enum (18.16 has no
 * query parameters, and we never concatenate request strings into SQL).
 */
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../kernel/errors.ts';
import { OUTCOMES, type Outcome } from '../kernel/events/session-completed.ts';
import { Instant } from '../http/schemas.ts';

/** Bucket widths of the latency series (the rollup is per minute, so nothing finer). */
export const LATENCY_STEPS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3_600 } as const;
export type LatencyStep = keyof typeof LATENCY_STEPS;

/** Bucket widths of the throughput series (read from the raw table, so down to one second). */
export const THROUGHPUT_STEPS = { '1s': 1, '10s': 10, '1m': 60, '5m': 300, '1h': 3_600 } as const;
export type ThroughputStep = keyof typeof THROUGHPUT_STEPS;

/** At most this many buckets per answer: bounds the work and the response size. */
export const MAX_POINTS = 1_500;
/** And at most this wide a window, whatever the step. */
export const MAX_RANGE_SECONDS = 31 * 24 * 3_600;

/**
 * A `step` as people write it: the width's name (`1m`), or its seconds as Prometheus and Grafana
 * take them (`60`, `60s`). Every form names a width the route serves; any other is a 422 that
 * lists the allowed ones.
 */
export function stepSchema<T extends Record<string, number>>(steps: T, fallback: keyof T & string) {
  const forms = new Map<string, keyof T & string>();
  for (const [name, seconds] of Object.entries(steps) as Array<[keyof T & string, number]>) {
    forms.set(name, name);
    forms.set(String(seconds), name);
    forms.set(`${seconds}s`, name);
  }
  const allowed = Object.entries(steps)
    .map(([name, seconds]) => `${name} (${seconds}, ${seconds}s)`)
    .join(', ');
  return z
    .enum([...forms.keys()] as [string, ...string[]], { error: () => `must be one of ${allowed}` })
    .default(fallback)
    .transform((form) => forms.get(form) ?? fallback)
    .meta({ description: `Bucket width: ${allowed}` });
}

const LatencyQuerySchema = z.object({
  from: Instant,
  to: Instant.meta({ description: `After \`from\`; the window spans at most 31 days and ${MAX_POINTS} steps` }),
  step: stepSchema(LATENCY_STEPS, '1m'),
  outcome: z.enum(OUTCOMES).optional(),
});

const ThroughputQuerySchema = z.object({
  from: Instant,
  to: Instant.meta({ description: `After \`from\`; the window spans at most 31 days and ${MAX_POINTS} steps` }),
  step: stepSchema(THROUGHPUT_STEPS, '1s'),
});
/** The query schemas as the routes declare them. */
export { LatencyQuerySchema as LatencyQuery, ThroughputQuerySchema as ThroughputQuery };

/** A validated window: unix seconds, `from` aligned down to the step, `to` exclusive. */
export interface Window {
  readonly fromSec: number;
  readonly toSec: number;
  readonly stepSec: number;
}

export interface LatencyRequest extends Window {
  readonly step: LatencyStep;
  readonly outcome: Outcome | undefined;
}

export interface ThroughputRequest extends Window {
  readonly step: ThroughputStep;
}

function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: ['query', ...i.path.map(String)].join('.'), message: i.message }));
}

function windowOf(from: string, to: string, stepSec: number): Window {
  const fromSec = Math.floor(Date.parse(from) / 1000 / stepSec) * stepSec;
  const toSec = Math.ceil(Date.parse(to) / 1000);
  const issues: FieldIssue[] = [];
  if (Date.parse(to) <= Date.parse(from)) {
    issues.push({ path: 'query.to', message: 'must be after query.from' });
  } else if (toSec - fromSec > MAX_RANGE_SECONDS) {
    issues.push({ path: 'query.to', message: `the window may span at most ${MAX_RANGE_SECONDS / 86_400} days` });
  } else if (Math.ceil((toSec - fromSec) / stepSec) > MAX_POINTS) {
    issues.push({
      path: 'query.step',
      message: `the window holds more than ${MAX_POINTS} steps of ${stepSec} s: use a larger step or a smaller window`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { fromSec, toSec, stepSec };
}

/** Validates `GET /analytics/latency` query input, or throws a ValidationError (paths `query.*`). */
export function parseLatencyQuery(query: unknown): LatencyRequest {
  const parsed = LatencyQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  const { from, to, step, outcome } = parsed.data;
  return { ...windowOf(from, to, LATENCY_STEPS[step]), step, outcome };
}

/** Validates `GET /analytics/throughput` query input, or throws a ValidationError. */
export function parseThroughputQuery(query: unknown): ThroughputRequest {
  const parsed = ThroughputQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  const { from, to, step } = parsed.data;
  return { ...windowOf(from, to, THROUGHPUT_STEPS[step]), step };
}

/** Percentiles in milliseconds; null when the bucket has no value for them. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p95?: number | null;
  readonly p99: number | null;
}

export interface LatencyPoint {
  /** Start of the bucket, ISO-8601 UTC. */
  readonly t: string;
  /** Deliveries into analytics in the bucket (the rollup counts a redelivered event again). */
  readonly count: number;
  readonly durationMs: Required<Percentiles>;
  /** API accepted -> row in ClickHouse (ingestedAt - receivedAt). */
  readonly pipelineLagMs: Percentiles;
  /** Client completed -> API accepted (receivedAt - completedAt), across two clocks. */
  readonly clientLagMs: Percentiles;
}

export interface LatencySeries {
  readonly from: string;
  readonly to: string;
  readonly step: LatencyStep;
  readonly outcome: Outcome | null;
  /** Buckets with data only, oldest first. */
  readonly points: readonly LatencyPoint[];
}

export interface ThroughputPoint {
  readonly t: string;
  /** Distinct events the API accepted in the bucket (by receivedAt), as landed in ClickHouse. */
  readonly events: number;
  readonly eventsPerSecond: number;
}

export interface ThroughputSeries {
  readonly from: string;
  readonly to: string;
  readonly step: ThroughputStep;
  /** Every bucket of the window, zero-filled, oldest first. */
  readonly points: readonly ThroughputPoint[];
  /** Latest receivedAt / ingestedAt in the store (second resolution), or null when empty. */
  readonly lastReceivedAt: string | null;
  readonly lastIngestedAt: string | null;
}

/* The answers as documented in /openapi.json (the interfaces above are what the service builds). */
const Iso = z.iso.datetime();
const Ms = z.number().nullable();
export const LatencySeriesSchema = z.object({
  from: Iso,
  to: Iso,
  step: z.enum(Object.keys(LATENCY_STEPS) as [LatencyStep, ...LatencyStep[]]),
  outcome: z.enum(OUTCOMES).nullable(),
  points: z.array(
    z.object({
      t: Iso,
      count: z.number(),
      durationMs: z.object({ p50: Ms, p95: Ms, p99: Ms }),
      pipelineLagMs: z.object({ p50: Ms, p95: Ms.optional(), p99: Ms }),
      clientLagMs: z.object({ p50: Ms, p95: Ms.optional(), p99: Ms }),
    }),
  ),
});
export const ThroughputSeriesSchema = z.object({
  from: Iso,
  to: Iso,
  step: z.enum(Object.keys(THROUGHPUT_STEPS) as [ThroughputStep, ...ThroughputStep[]]),
  points: z.array(z.object({ t: Iso, events: z.number(), eventsPerSecond: z.number() })),
  lastReceivedAt: Iso.nullable(),
  lastIngestedAt: Iso.nullable(),
});
export const ConsumerLagSchema = z.union([
  z.object({ available: z.literal(false), at: Iso, reason: z.string() }),
  z.object({
    available: z.literal(true),
    at: Iso,
    groups: z.array(
      z.object({
        groupId: z.string(),
        topic: z.string(),
        lag: z.number(),
        partitions: z.array(z.object({ partition: z.int(), committed: z.number().nullable(), high: z.number(), lag: z.number() })),
      }),
    ),
  }),
]);
