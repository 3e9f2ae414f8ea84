/**
 * The project's ClickHouse SQL on a current ClickHouse (chdb-core, 26.x: see chdb.ts), where the
 * int tier proves it on the native stack's 18.16:
 * - the migrations, applied as clickhouse-migrations applies them;
 * - the sink's insert: its statement, format and settings (consumers/clickhouse/inserter.ts) and
 *   the rows the sink makes, encoded as @clickhouse/client encodes them;
 * - every query of docs/analytics.md on the same known data as the 18.16 test, with the same
 *   expected answers (test/int/clickhouse/analytics-docs-cases.ts), before and after merges;
 * - the partition key (migration 4): a batch of 120 items, one per month, inserts in one block
 *   and makes a handful of partitions, where the old monthly key is refused by this engine.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { classifyClickHouseError } from '../../consumers/clickhouse/errors.ts';
import { INSERT_FORMAT, INSERT_SETTINGS, sessionEventsTable, type SessionEventInserter } from '../../consumers/clickhouse/inserter.ts';
import { toSessionEventRow, type SessionEventRow } from '../../consumers/clickhouse/rows.ts';
import { createClickHouseSink } from '../../consumers/clickhouse/sink.ts';
import { BLOCKS, checks, knownRows, type Row } from '../int/clickhouse/analytics-docs-cases.ts';
import { migrationFiles } from '../int/clickhouse/support.ts';
import { makeEvent } from '../support/events.ts';
import { applyMigrations, openChdb, type Chdb } from './chdb.ts';

/** The insert @clickhouse/client sends for the inserter: `INSERT INTO t [SETTINGS …] FORMAT JSONEachRow` and one JSON line per row. */
function chdbInserter(db: Chdb, database: string): SessionEventInserter {
  const table = sessionEventsTable(database);
  const settings = Object.entries(INSERT_SETTINGS).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`);
  return {
    async insert(rows: readonly SessionEventRow[]) {
      if (rows.length === 0) return;
      const head = `INSERT INTO ${table}${settings.length > 0 ? ` SETTINGS ${settings.join(', ')}` : ''} FORMAT ${INSERT_FORMAT}`;
      await db.query(`${head}\n${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    },
    ping: async () => void (await db.query('SELECT 1')),
  };
}

let db: Chdb;
const DOCS_DB = 'docs';
beforeAll(async () => {
  db = await openChdb();
  await applyMigrations(db, DOCS_DB, migrationFiles());
}, 600_000); // the first run on a machine installs chdb-core (~1 min)
afterAll(async () => {
  await db?.close();
});

test('the engine is a current ClickHouse (26.x)', () => {
  expect(db.version).toMatch(/^26\./);
});

test('the migrations apply: the tables, the view, and the bounded partition key', async () => {
  const tables = await db.rows<{ name: string; engine: string; partition_key: string; sorting_key: string }>(
    `SELECT name, engine, partition_key, sorting_key FROM system.tables WHERE database = '${DOCS_DB}' ORDER BY name`,
  );
  expect(tables.map((t) => [t.name, t.engine])).toEqual([
    ['session_events', 'ReplacingMergeTree'],
    ['session_latency_1m', 'AggregatingMergeTree'],
    ['session_latency_1m_mv', 'MaterializedView'],
  ]);
  const events = tables.find((t) => t.name === 'session_events');
  expect(events?.partition_key).toBe('greatest(toYear(completed_at), 2020)');
  expect(events?.sorting_key).toBe('completed_at, event_id');
});

describe('docs/analytics.md queries on the known data, with the 18.16 test\'s answers', () => {
  beforeAll(async () => {
    const inserter = chdbInserter(db, DOCS_DB);
    const { first, again } = knownRows();
    await inserter.insert(first);
    await inserter.insert(again);
  });

  test('every sql block has a check, and every check a block', () => {
    expect(BLOCKS.map((b) => b.name).sort()).toEqual(Object.keys(checks).sort());
  });

  for (const block of BLOCKS) {
    test(block.name, async () => {
      const check = checks[block.name];
      if (check === undefined) throw new Error(`no check for ${block.name}`);
      check(await db.rows<Row>(block.sql));
    });
  }

  test('after the duplicates are merged away, dedupe-aware answers and the redelivery count do not change', async () => {
    const before = new Map<string, Row[]>();
    for (const b of BLOCKS) before.set(b.name, await db.rows<Row>(b.sql));
    await db.query(`OPTIMIZE TABLE ${DOCS_DB}.session_events FINAL`);
    for (const b of BLOCKS) {
      const after = await db.rows<Row>(b.sql);
      if (b.name === 'duplicate_rows_not_merged_yet') expect(after[0]!.duplicate_rows).toBe(0);
      else expect({ name: b.name, rows: after }).toEqual({ name: b.name, rows: before.get(b.name)! });
    }
  });
});

describe('partitions: old or hostile completedAt cannot blow them up (migration 4)', () => {
  /** 120 sessions, one per month, from 10 years back. */
  const perMonth = () => {
    const start = new Date(Date.UTC(new Date().getUTCFullYear() - 10, new Date().getUTCMonth(), 15));
    return Array.from({ length: 120 }, (_, i) => {
      const completedAt = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + i, 15, 12);
      return makeEvent({ completedAt, receivedAt: Date.now() - 1_000, userId: 'hostile' });
    });
  };

  test('the sink writes a batch of 120 items, one per month, in one insert, into a dozen partitions at most', async () => {
    await applyMigrations(db, 'partitions', migrationFiles());
    const events = perMonth();
    const sink = createClickHouseSink({ inserter: chdbInserter(db, 'partitions') });
    await sink.write(events);
    const [stored] = await db.rows<{ n: number; partitions: number }>(
      `SELECT count() AS n, uniqExact(_partition_id) AS partitions FROM partitions.session_events`,
    );
    expect(stored?.n).toBe(120);
    // 10 years after 2020 at most, plus the shared "2020 and before" partition.
    expect(stored?.partitions).toBeLessThanOrEqual(11);
    const [parts] = await db.rows<{ partitions: number }>(
      `SELECT uniqExact(partition) AS partitions FROM system.parts WHERE database = 'partitions' AND table = 'session_events' AND active`,
    );
    expect(parts?.partitions).toBe(stored?.partitions);
    // A replay of the same batch lands in the same partitions and merges away.
    await sink.write(events);
    await db.query('OPTIMIZE TABLE partitions.session_events FINAL');
    const [after] = await db.rows<{ n: number }>('SELECT count() AS n FROM partitions.session_events');
    expect(after?.n).toBe(120);
  });

  test('the oldest and newest accepted instants share the bounded key; the old monthly key is refused here', async () => {
    const [bounds] = await db.rows<{ oldest: number; newest: number }>(
      `SELECT greatest(toYear(toDateTime(0, 'UTC')), 2020) AS oldest, greatest(toYear(toDateTime('2105-12-31 23:59:59', 'UTC')), 2020) AS newest`,
    );
    expect([bounds?.oldest, bounds?.newest]).toEqual([2020, 2105]); // 86 values: below the limit of 100
    // The key migration 4 replaced: the same batch is refused by this engine.
    await db.query(`CREATE TABLE partitions.by_month AS partitions.session_events ENGINE = ReplacingMergeTree(first_delivery_version) PARTITION BY toYYYYMM(completed_at) ORDER BY (completed_at, event_id)`);
    const rows = perMonth().map((e) => toSessionEventRow(e, Date.now()));
    const error = await db
      .query(`INSERT INTO partitions.by_month FORMAT ${INSERT_FORMAT}\n${rows.map((r) => JSON.stringify(r)).join('\n')}\n`)
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(/Too many partitions for (a )?single INSERT block/i);
    // ...which the consumer classifies as a refusal of the batch (bisected until the slices fit).
    expect(classifyClickHouseError(error).kind).toBe('rejected');
  });
});
