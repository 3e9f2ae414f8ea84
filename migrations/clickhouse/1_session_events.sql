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
    client_to_api_lag_ms Int64,
    api_to_analytics_lag_ms Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, event_id);
