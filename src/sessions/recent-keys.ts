/**
 * A short, bounded memory of the requests this API process built events for with an
 * Idempotency-Key: event id -> request hash. It lets the write path answer 422
 * IDEMPOTENCY_KEY_REUSED when a client reuses a key for a different body and the first request
 * went through THIS process recently. Best effort on purpose: another worker or replica, a restart,
 * or an entry older than `ttlMs` or pushed out by `maxEntries` newer ones, and the reuse goes
 * through; the consumers' record (the Postgres consumer's idempotency_keys table and the
 * IDEMPOTENCY_CONFLICT dead letter) is the guarantee. Memory: about 200 bytes an entry.
 */
export interface RecentRequestKeys {
  /** 'conflict' when the id was seen within the ttl with another hash (the first is kept); records it otherwise. */
  check(eventId: string, requestHash: string, nowMs: number): 'new' | 'same' | 'conflict';
  readonly size: number;
}

export const DEFAULT_RECENT_KEYS = { maxEntries: 10_000, ttlMs: 10 * 60_000 } as const;

export function createRecentRequestKeys(options: { maxEntries: number; ttlMs: number } = DEFAULT_RECENT_KEYS): RecentRequestKeys {
  // A Map iterates in insertion order: the first entry is always the oldest.
  const entries = new Map<string, { hash: string; at: number }>();
  return {
    check(eventId, requestHash, nowMs) {
      for (const [id, e] of entries) {
        if (nowMs - e.at < options.ttlMs) break;
        entries.delete(id);
      }
      const seen = entries.get(eventId);
      if (seen !== undefined) return seen.hash === requestHash ? 'same' : 'conflict';
      entries.set(eventId, { hash: requestHash, at: nowMs });
      if (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      return 'new';
    },
    get size() {
      return entries.size;
    },
  };
}
