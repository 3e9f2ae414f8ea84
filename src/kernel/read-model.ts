/**
 * The Postgres read model's rows as every layer sees them: the consumer's writer keeps them,
 * the read routes return them, consumers/postgres/stats.ts recomputes them for tests. Declared
 * once, here in the kernel, so neither side imports the other.
 */
import type { Outcome } from './events/session-completed.ts';

export interface SessionView {
  readonly sessionId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly durationMs: number;
  readonly score: number | null;
  readonly outcome: Outcome;
  readonly attributes: Record<string, string | number | boolean>;
  readonly receivedAt: string;
  readonly projectedAt: string;
}

/**
 * What `user_stats` holds for one user: the aggregates of that user's rows in `sessions`. The
 * consumer's writer keeps it so, and consumers/postgres/stats.ts computes it from rows (the
 * reference the tests compare with).
 */
export interface UserStats {
  readonly userId: string;
  readonly sessionsCompleted: number;
  readonly totalDurationMs: number;
  readonly avgDurationMs: number;
  /** Over the sessions that have a score; null when none has. */
  readonly bestScore: number | null;
  readonly avgScore: number | null;
  readonly scoredSessions: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  readonly lastCompletedAt: string;
}
