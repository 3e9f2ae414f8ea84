/**
 * Names of the ClickHouse objects made by migrations/clickhouse/*.sql, in one place for the
 * consumer (which writes the raw table) and the analytics API (which reads both).
 */
export const SESSION_EVENTS_TABLE = 'session_events' as const;
export const LATENCY_ROLLUP_TABLE = 'session_latency_1m' as const;

/** A ClickHouse database name we are willing to put into SQL text (it cannot be a parameter). */
export const DATABASE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
