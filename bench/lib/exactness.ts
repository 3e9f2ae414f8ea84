/**
 * Realistic-traffic bookkeeping, pure: from what the load generator sent and got back, what a
 * correct pipeline must end up holding (the distinct accepted event ids, and per user how many
 * sessions), how the answers compare with the contract, and then whether a snapshot of the read
 * models matches exactly.
 */
import type { Sent } from './loadgen.ts';
import type { ExactnessResult } from './results.ts';
import type { PlannedRequest } from './traffic.ts';

export type RealisticPlan = PlannedRequest & { readonly index: number };

export interface AnswerAnalysis {
  /** event id -> user id of every accepted completion (retries collapse by id). */
  readonly accepted: ReadonlyMap<string, string>;
  /** Answers that are what the contract says for the request (2xx valid, 422 invalid). */
  readonly correct: number;
  /** Valid completions not accepted: non-2xx single/retry answers, non-2xx batches, `failed` batch items. */
  readonly validNon2xx: number;
  readonly statuses: Record<string, number>;
  readonly transportErrors: Record<string, number>;
  readonly retries: ExactnessResult['retries'];
  readonly invalid: ExactnessResult['invalid'];
  readonly batches: ExactnessResult['batches'];
  readonly problems: string[];
}

interface BatchAnswer {
  readonly results?: ReadonlyArray<{ index: number; status: string; eventId?: string }>;
}

const eventIdOf = (json: unknown): string | undefined => {
  const id = (json as { eventId?: unknown } | undefined)?.eventId;
  return typeof id === 'string' ? id : undefined;
};

/**
 * `validates`: the system checks bodies (every real one does; the bare baseline answers 202 to
 * anything, so for it any 2xx counts as correct and no id bookkeeping is meaningful).
 */
export function analyzeAnswers(sent: ReadonlyArray<Sent<RealisticPlan>>, validates = true): AnswerAnalysis {
  const accepted = new Map<string, string>();
  const idByIndex = new Map<number, string>();
  const statuses: Record<string, number> = {};
  const transportErrors: Record<string, number> = {};
  const problems: string[] = [];
  let correct = 0;
  let validNon2xx = 0;
  const retries = { sent: 0, sameEventId: 0, differentEventId: 0 };
  const invalid = { sent: 0, answered422: 0, answeredOther: {} as Record<string, number> };
  const batches = { sent: 0, itemsAccepted: 0, itemsRejected: 0, itemsWrong: 0 };
  const ok2xx = (s: number) => s >= 200 && s < 300;

  // Originals first, so a retry answered before its original still finds the original's id.
  for (const s of sent) {
    if (s.plan.kind === 'single' && ok2xx(s.status)) {
      const id = eventIdOf(s.json);
      if (id) idByIndex.set(s.plan.index, id);
    }
  }
  for (const s of sent) {
    const key = s.status === 0 ? 'transport' : String(s.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (s.status === 0) transportErrors[s.error ?? 'error'] = (transportErrors[s.error ?? 'error'] ?? 0) + 1;
    const p = s.plan;
    switch (p.kind) {
      case 'single':
      case 'retry': {
        if (p.kind === 'retry') retries.sent++;
        if (!ok2xx(s.status)) {
          validNon2xx++;
          break;
        }
        correct++;
        if (!validates) break;
        const id = eventIdOf(s.json);
        if (!id) {
          problems.push(`a 2xx answer without an eventId (request ${p.index})`);
          break;
        }
        accepted.set(id, p.item.userId);
        if (p.kind === 'retry') {
          const original = idByIndex.get(p.of);
          if (original === undefined) break; // the original was not accepted: nothing to compare
          if (original === id) retries.sameEventId++;
          else retries.differentEventId++;
        }
        break;
      }
      case 'invalid': {
        invalid.sent++;
        if (!validates) {
          if (ok2xx(s.status)) correct++;
          break;
        }
        if (s.status === 422) {
          invalid.answered422++;
          correct++;
        } else {
          invalid.answeredOther[key] = (invalid.answeredOther[key] ?? 0) + 1;
          if (ok2xx(s.status)) problems.push(`an invalid body (${p.invalid}) was accepted with ${s.status} (request ${p.index})`);
        }
        break;
      }
      case 'batch': {
        batches.sent++;
        if (!ok2xx(s.status)) {
          validNon2xx++;
          break;
        }
        correct++;
        if (!validates) break;
        const results = (s.json as BatchAnswer | undefined)?.results ?? [];
        p.items.forEach((item, i) => {
          const r = results.find((x) => x.index === i);
          if (item === undefined) {
            if (r?.status === 'rejected') batches.itemsRejected++;
            else {
              batches.itemsWrong++;
              problems.push(`batch item ${i} of request ${p.index} is invalid but was answered ${r?.status ?? 'nothing'}`);
            }
            return;
          }
          if (r?.status === 'accepted' && typeof r.eventId === 'string') {
            batches.itemsAccepted++;
            accepted.set(r.eventId, item.userId);
          } else if (r?.status === 'failed') {
            validNon2xx++;
          } else {
            batches.itemsWrong++;
            problems.push(`batch item ${i} of request ${p.index} is valid but was answered ${r?.status ?? 'nothing'}`);
          }
        });
        break;
      }
      default: {
        const never: never = p;
        throw new Error(`unknown request kind ${String(never)}`);
      }
    }
  }
  if (retries.differentEventId > 0) problems.push(`${retries.differentEventId} retries with the same Idempotency-Key got a different event id`);
  return { accepted, correct, validNon2xx, statuses, transportErrors, retries, invalid, batches, problems };
}

/** What the stores hold for the scenario (its own schema and database). */
export interface ReadModelSnapshot {
  readonly postgresEventIds: ReadonlySet<string>;
  /** user_id -> sessions_completed. */
  readonly postgresUserStats: ReadonlyMap<string, number>;
  readonly clickhouseEventIds: ReadonlySet<string>;
  readonly clickhouseDeliveries: number;
}

const sample = (xs: Iterable<string>, n = 5) => [...xs].slice(0, n).join(', ');

export function compareReadModels(analysis: AnswerAnalysis, snap: ReadModelSnapshot): ExactnessResult {
  const problems = [...analysis.problems];
  const expectedPerUser = new Map<string, number>();
  for (const user of analysis.accepted.values()) expectedPerUser.set(user, (expectedPerUser.get(user) ?? 0) + 1);

  const check = (store: string, ids: ReadonlySet<string>) => {
    const missing = [...analysis.accepted.keys()].filter((id) => !ids.has(id));
    const extra = [...ids].filter((id) => !analysis.accepted.has(id));
    if (missing.length) problems.push(`${store} lacks ${missing.length} accepted events (e.g. ${sample(missing)})`);
    if (extra.length) problems.push(`${store} holds ${extra.length} events no client saw accepted (e.g. ${sample(extra)})`);
    return analysis.accepted.size - missing.length;
  };
  const pgMatching = check('Postgres', snap.postgresEventIds);
  const chMatching = check('ClickHouse', snap.clickhouseEventIds);

  let usersWithWrongCount = 0;
  const wrong: string[] = [];
  for (const user of new Set([...expectedPerUser.keys(), ...snap.postgresUserStats.keys()])) {
    const want = expectedPerUser.get(user) ?? 0;
    const got = snap.postgresUserStats.get(user) ?? 0;
    if (want !== got) {
      usersWithWrongCount++;
      if (wrong.length < 5) wrong.push(`${user}: ${got} instead of ${want}`);
    }
  }
  if (usersWithWrongCount) problems.push(`user_stats.sessions_completed is wrong for ${usersWithWrongCount} users (${wrong.join('; ')})`);
  let statsSum = 0;
  for (const n of snap.postgresUserStats.values()) statsSum += n;
  if (statsSum !== analysis.accepted.size) problems.push(`user_stats sums to ${statsSum} sessions, not ${analysis.accepted.size}`);

  return {
    ok: problems.length === 0,
    acceptedEvents: analysis.accepted.size,
    postgres: {
      rowsWithAcceptedIds: pgMatching,
      rowsTotal: snap.postgresEventIds.size,
      userStatsSessionsSum: statsSum,
      usersExpected: expectedPerUser.size,
      usersWithWrongCount,
    },
    clickhouse: {
      uniqExactAcceptedIds: chMatching,
      uniqExactTotal: snap.clickhouseEventIds.size,
      deliveries: snap.clickhouseDeliveries,
    },
    retries: analysis.retries,
    invalid: analysis.invalid,
    batches: analysis.batches,
    problems,
  };
}
