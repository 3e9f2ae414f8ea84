-- Partition session_events so that no accepted timestamp can blow up the partition count.
--
-- Until now the table was partitioned by the month of completed_at, and the API accepts any
-- completedAt from 1970 on (the client's clock): one batch of 120 items, one per month, touched
-- 120 partitions. A current ClickHouse refuses an insert block that touches more than 100
-- (max_partitions_per_insert_block; the consumer would then isolate the batch slice by slice), and
-- every old month stayed a partition of its own for good.
--
-- Now: one partition per year of completed_at, and every year before 2020 shares the partition
-- 2020. completedAt is accepted up to 2105-12-31, so the key has at most 86 values (2020..2105):
-- no insert block, whatever its timestamps, can touch more than 86 partitions, below the limit of
-- 100 on every version, and the table never holds more than 86 partitions. Nothing depends on the
-- insert's shape (order or size of the batch).
--
-- Dedupe still works: the key depends on completed_at only, which every copy of an event carries
-- unchanged (a redelivery, a client retry with the same Idempotency-Key: see migration 3), so all
-- copies land in the same partition and ReplacingMergeTree merges them. The sorting key is
-- unchanged (completed_at, event_id): time-range filters still prune by the primary index.
--
-- Runs on 18.16 and on current versions (chdb tier). Like migration 3 it copies the table: run it
-- at start-up before the consumers (scripts/system.ts), not under a live consumer.
DROP TABLE IF EXISTS session_latency_1m_mv;

CREATE TABLE session_events_by_year
(
    event_id UUID,
    session_id String,
    user_id String,
    outcome String,
    score Nullable(Float64),
    duration_ms Int64,
    started_at DateTime('UTC'),
    completed_at DateTime('UTC'),
    received_at DateTime('UTC'),
    ingested_at DateTime('UTC'),
    ingested_at_ms UInt64,
    client_to_api_lag_ms Int64,
    api_to_analytics_lag_ms Int64,
    first_delivery_version UInt64 MATERIALIZED bitNot(ingested_at_ms)
)
ENGINE = ReplacingMergeTree(first_delivery_version)
PARTITION BY greatest(toYear(completed_at), 2020)
ORDER BY (completed_at, event_id);

INSERT INTO session_events_by_year
SELECT event_id, session_id, user_id, outcome, score, duration_ms, started_at, completed_at,
       received_at, ingested_at, ingested_at_ms, client_to_api_lag_ms, api_to_analytics_lag_ms
FROM session_events;

RENAME TABLE session_events TO session_events_by_month, session_events_by_year TO session_events;

DROP TABLE session_events_by_month;

CREATE MATERIALIZED VIEW session_latency_1m_mv TO session_latency_1m
AS SELECT
    toStartOfMinute(received_at) AS minute,
    outcome,
    countState() AS events,
    quantilesState(0.5, 0.95, 0.99)(duration_ms) AS duration_ms_q,
    quantilesState(0.5, 0.95, 0.99)(client_to_api_lag_ms) AS client_to_api_lag_ms_q,
    quantilesState(0.5, 0.95, 0.99)(api_to_analytics_lag_ms) AS api_to_analytics_lag_ms_q
FROM session_events
GROUP BY minute, outcome;
