/**
 * What `user_stats` means, stated once in code: the aggregates of one user's rows in `sessions`.
 * The writer computes the same thing in SQL (store-sql.ts); the integration tests check the two
 * agree after every kind of batch. Pure.
 */
import { OUTCOMES, type Outcome } from '../../src/kernel/events/session-completed.ts';
import type { UserStats } from '../../src/kernel/read-model.ts';
import type { SessionRow } from './projection.ts';

export type { UserStats };

/** Stats of one user from that user's rows; undefined when the user has no session. */
export function userStatsOf(userId: string, rows: readonly SessionRow[]): UserStats | undefined {
  if (rows.length === 0) return undefined;
  let total = 0;
  let scoreSum = 0;
  let scored = 0;
  let best: number | null = null;
  let last = '';
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const row of rows) {
    total += row.durationMs;
    outcomes[row.outcome] += 1;
    if (row.completedAt > last) last = row.completedAt;
    if (row.score !== null) {
      scored += 1;
      scoreSum += row.score;
      if (best === null || row.score > best) best = row.score;
    }
  }
  return {
    userId,
    sessionsCompleted: rows.length,
    totalDurationMs: total,
    avgDurationMs: total / rows.length,
    bestScore: best,
    avgScore: scored === 0 ? null : scoreSum / scored,
    scoredSessions: scored,
    outcomes,
    lastCompletedAt: last,
  };
}

/** Stats of every user present in a `sessions` table (the reference model). */
export function allUserStats(table: ReadonlyMap<string, SessionRow>): Map<string, UserStats> {
  const byUser = new Map<string, SessionRow[]>();
  for (const row of table.values()) {
    const list = byUser.get(row.userId);
    if (list) list.push(row);
    else byUser.set(row.userId, [row]);
  }
  const stats = new Map<string, UserStats>();
  for (const [userId, rows] of byUser) {
    const s = userStatsOf(userId, rows);
    if (s) stats.set(userId, s);
  }
  return stats;
}
