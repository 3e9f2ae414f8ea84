/**
 * Exact Postgres freshness per drill phase, read from the read model itself: every `sessions` row
 * carries `received_at` (the API's clock when it accepted the request) and `projected_at` (the
 * consumer's transaction time when the row was first written; a replay is a no-op and does not
 * move it). So `projected_at - received_at` is each event's time to Postgres, and the quantiles
 * over the events the API received during a phase say how fresh the read model stayed while that
 * phase's fault ran. Unlike the consumers' histogram (events *committed* in a phase, bucket
 * bounds only) this counts the events that arrived while the fault ran and gives exact values.
 *
 * `projected_at` is `now()`, the transaction's start, so it is a few ms (the batch's COPY and the
 * stats recompute) earlier than the commit that makes the row visible.
 */
import pg from 'pg';

export interface FreshnessFigures {
  readonly events: number;
  readonly p50S: number;
  readonly p99S: number;
  readonly maxS: number;
}

export interface WallWindow {
  readonly name: string;
  /** epoch ms */
  readonly from: number;
  readonly to: number;
}

/** One short-lived connection for a read. */
async function withClient<T>(databaseUrl: string, read: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await read(client);
  } finally {
    await client.end();
  }
}

export function postgresFreshness(databaseUrl: string, windows: readonly WallWindow[]): Promise<Record<string, FreshnessFigures>> {
  return withClient(databaseUrl, async (client) => {
    const out: Record<string, FreshnessFigures> = {};
    for (const w of windows) {
      const r = await client.query<{ events: string; p50: number | null; p99: number | null; max: number | null }>(
        `SELECT count(*) AS events,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY f) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY f) AS p99,
                max(f) AS max
           FROM (SELECT extract(epoch FROM projected_at - received_at)::float8 AS f
                   FROM sessions
                  WHERE received_at >= to_timestamp($1::float8 / 1000) AND received_at < to_timestamp($2::float8 / 1000)) t`,
        [w.from, w.to],
      );
      const row = r.rows[0];
      out[w.name] = { events: Number(row?.events ?? 0), p50S: row?.p50 ?? 0, p99S: row?.p99 ?? 0, maxS: row?.max ?? 0 };
    }
    return out;
  });
}

export interface FreshnessSecond {
  /** epoch s when the API received the events */
  readonly second: number;
  readonly events: number;
  readonly p50S: number;
  readonly maxS: number;
}

/**
 * Postgres freshness second by second over [from, to) (epoch ms), for the drill's JSON: it shows
 * where the slow events sit (a rebalance, a kill) and how freshness changes with the number of
 * consumers in the group.
 */
export function postgresFreshnessTimeline(databaseUrl: string, from: number, to: number): Promise<FreshnessSecond[]> {
  return withClient(databaseUrl, async (client) => {
    const r = await client.query<{ second: number; events: string; p50: number; max: number }>(
      `SELECT extract(epoch FROM date_trunc('second', received_at))::float8 AS second, count(*) AS events,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY f) AS p50, max(f) AS max
         FROM (SELECT received_at, extract(epoch FROM projected_at - received_at)::float8 AS f
                 FROM sessions
                WHERE received_at >= to_timestamp($1::float8 / 1000) AND received_at < to_timestamp($2::float8 / 1000)) t
        GROUP BY 1 ORDER BY 1`,
      [from, to],
    );
    return r.rows.map((row) => ({ second: row.second, events: Number(row.events), p50S: Math.round(row.p50 * 1000) / 1000, maxS: Math.round(row.max * 1000) / 1000 }));
  });
}
