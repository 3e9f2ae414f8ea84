/**
 * The faults the harness injects into a private stack, each as one function: do the damage, keep
 * it for a while under load, repair it, and say what happened (pids, how long things were down,
 * whether a consumer was caught in the middle of a batch).
 */
import pg from 'pg';
import type { AppName, PrivateStack, ServiceName } from '../private-stack.ts';
import { lagReader } from './stores.ts';

export const FAULTS = ['kafka-kill9', 'consumer-postgres-kill9', 'consumer-clickhouse-kill9', 'postgres-restart', 'clickhouse-restart'] as const;
export type FaultName = (typeof FAULTS)[number];

export interface FaultTimings {
  /** How long the damage stays before the repair starts. */
  readonly downMs: number;
  /** How long to look for a consumer's write in flight before killing it anyway. */
  readonly midBatchSearchMs: number;
  /**
   * When to kill a consumer: while its batch write is running in the store, or the moment that
   * write has finished (written, offsets not yet committed: the batch is redelivered).
   */
  readonly consumerKillMoment: 'during-write' | 'after-write';
}

export interface FaultNotes {
  readonly what: string;
  readonly downMs: number;
  /** How long the repair took (server start until ready, or consumer start until ready). */
  readonly repairMs: number;
  /** For consumer kills: what was seen at the moment of the kill. */
  readonly midBatch?: string;
  /** For consumer kills: messages the group had not committed right after the kill (re-read on restart). */
  readonly uncommittedAtKill?: number;
}

const since = (t: number) => Date.now() - t;

async function restartServiceAfter(stack: PrivateStack, name: ServiceName, downStarted: number, downMs: number) {
  const wait = downMs - since(downStarted);
  if (wait > 0) await Bun.sleep(wait);
  const down = since(downStarted);
  const t = Date.now();
  await stack.services[name].start();
  return { downMs: down, repairMs: since(t) };
}

/** Polls `probe` (true while a write is in flight) until it is, or the deadline. */
async function waitFor(probe: () => Promise<boolean>, want: boolean, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      if ((await probe()) === want) return true;
    } catch {
      // a probe failing is no reason to stop looking
    }
    await Bun.sleep(1);
  }
  return false;
}

async function killConsumerMidBatch(
  stack: PrivateStack,
  app: AppName & `consumer-${string}`,
  timings: FaultTimings,
): Promise<FaultNotes> {
  const deadline = Date.now() + timings.midBatchSearchMs;
  let probe: () => Promise<boolean>;
  let close = async () => {};
  let label: string;
  if (app === 'consumer-postgres') {
    // The batch transaction of the consumer: BEGIN + lock, COPY into staging, upsert, COMMIT.
    const client = new pg.Client({ connectionString: stack.config.DATABASE_URL, application_name: 'fault-probe' });
    await client.connect();
    close = () => client.end().catch(() => undefined);
    label = 'its batch transaction (COPY + upsert)';
    probe = async () => {
      const r = await client.query(
        `SELECT 1 FROM pg_stat_activity
         WHERE application_name = 'consumer-postgres' AND xact_start IS NOT NULL
           AND state IN ('active', 'idle in transaction') AND query NOT ILIKE 'SELECT 1%'`,
      );
      return (r.rowCount ?? 0) > 0;
    };
  } else {
    const url = `${stack.config.CLICKHOUSE_URL}/?user=${encodeURIComponent(stack.config.CLICKHOUSE_USER)}&password=${encodeURIComponent(stack.config.CLICKHOUSE_PASSWORD)}`;
    const query = `SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO ${stack.config.CLICKHOUSE_DATABASE}.session_events%' FORMAT TSV`;
    label = 'its INSERT into session_events';
    probe = async () => {
      const res = await fetch(url, { method: 'POST', body: query, signal: AbortSignal.timeout(2_000) });
      return Number((await res.text()).trim()) > 0;
    };
  }
  let seen: string;
  try {
    const during = await waitFor(probe, true, deadline);
    if (!during) seen = `no write seen within ${timings.midBatchSearchMs} ms; killed with a batch buffered`;
    else if (timings.consumerKillMoment === 'during-write') seen = `killed while ${label} was running`;
    else {
      const after = await waitFor(probe, false, deadline + 5_000);
      seen = after ? `killed right after ${label} finished (before the offset commit, if in time)` : `${label} did not finish in time; killed during it`;
    }
    stack.apps[app].kill9Sync();
  } finally {
    await close();
  }
  const killedAt = Date.now();
  await stack.apps[app].exited();
  const reader = lagReader(stack.config);
  let uncommitted: number | undefined;
  try {
    const lag = await reader.read();
    uncommitted = lag.groups.find((g) => g.group === (app === 'consumer-postgres' ? stack.config.PG_CONSUMER_GROUP : stack.config.CH_CONSUMER_GROUP))?.lag;
  } catch {
    uncommitted = undefined;
  } finally {
    await reader.close();
  }
  const wait = timings.downMs - since(killedAt);
  if (wait > 0) await Bun.sleep(wait);
  const downMs = since(killedAt);
  const t = Date.now();
  await stack.apps[app].start(180_000);
  return {
    what: `kill -9 ${app}, start it again`,
    downMs,
    repairMs: since(t),
    midBatch: seen,
    ...(uncommitted === undefined ? {} : { uncommittedAtKill: uncommitted }),
  };
}

export async function injectFault(stack: PrivateStack, fault: FaultName, timings: FaultTimings): Promise<FaultNotes> {
  switch (fault) {
    case 'kafka-kill9': {
      const pid = stack.services.kafka.pid();
      const t = Date.now();
      stack.services.kafka.kill9();
      const r = await restartServiceAfter(stack, 'kafka', t, timings.downMs);
      return { what: `kill -9 the Kafka broker (pid ${pid}), start it again`, ...r };
    }
    case 'consumer-postgres-kill9':
      return killConsumerMidBatch(stack, 'consumer-postgres', timings);
    case 'consumer-clickhouse-kill9':
      return killConsumerMidBatch(stack, 'consumer-clickhouse', timings);
    case 'postgres-restart': {
      const t = Date.now();
      await stack.services.postgres.stop();
      const r = await restartServiceAfter(stack, 'postgres', t, timings.downMs);
      return { what: 'stop Postgres (fast shutdown), start it again', ...r };
    }
    case 'clickhouse-restart': {
      const t = Date.now();
      await stack.services.clickhouse.stop();
      const r = await restartServiceAfter(stack, 'clickhouse', t, timings.downMs);
      return { what: 'stop ClickHouse (SIGTERM), start it again', ...r };
    }
    default: {
      const never: never = fault;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}
