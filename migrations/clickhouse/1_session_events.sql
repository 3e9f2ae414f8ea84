-- Raw SessionCompleted events, one row per delivery, deduplicated on event_id by merges.
--
-- Runs on ClickHouse 18.16 (the local stack) and on a current ClickHouse:
--   no DateTime64 on 18.16, so instants are DateTime('UTC') (second resolution, what analysts
--   filter and bucket on) and every millisecond quantity anyone asks for is a difference, stored
--   precomputed in ms by the consumer from the ms-precise ISO strings of the event:
--   duration_ms (completedAt - startedAt), client_to_api_lag_ms (receivedAt - completedAt),
--   api_to_analytics_lag_ms (ingestedAt - receivedAt). Int64, not UInt64: client clocks skew,
--   so a lag may be negative.
--
-- Dedupe: ReplacingMergeTree collapses rows with the same sorting key in the same partition.
-- Both key and partition derive from received_at (set once by the API, identical in every
-- redelivery of the message) and event_id, so a redelivered event collapses onto the first.
-- Merges happen "eventually": exact queries must still be dedupe-aware (FINAL or GROUP BY
-- event_id), see docs/analytics.md.
-- Copies differ only in ingested_at and api_to_analytics_lag_ms. The merge keeps the FIRST
-- delivery (the true freshness): ReplacingMergeTree keeps the highest version, and the
-- version is the bit-inverse of the ms ingestion instant, so the earliest write wins.
-- ingested_at_ms is the one instant kept in ms, because which copy came first needs it.
-- The key leads with received_at because analyst and dashboard queries filter on a time range.
CREATE TABLE IF NOT EXISTS session_events
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
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, event_id);
