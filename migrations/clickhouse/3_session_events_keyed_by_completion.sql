-- Key session_events on what a retried request repeats.
--
-- A client retrying with the same Idempotency-Key gets the same event id and sends the same
-- completedAt, but the API stamps a new receivedAt. When the first attempt was answered 503
-- (ack deadline) and its batch still landed, both copies reach ClickHouse; keyed on
-- (received_at, event_id) they never merged, and FINAL counted the event twice. Keyed on
-- (completed_at, event_id), partitioned by completed_at, they merge like any redelivery, and the
-- version column keeps the first delivery.
--
-- Runs at start-up before the consumers (scripts/system.ts); rows inserted while it runs could
-- be missed by the copy, so do not run it under a live consumer.
DROP TABLE IF EXISTS session_latency_1m_mv;

CREATE TABLE session_events_by_completion
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
PARTITION BY toYYYYMM(completed_at)
ORDER BY (completed_at, event_id);

INSERT INTO session_events_by_completion
SELECT event_id, session_id, user_id, outcome, score, duration_ms, started_at, completed_at,
       received_at, ingested_at, ingested_at_ms, client_to_api_lag_ms, api_to_analytics_lag_ms
FROM session_events;

RENAME TABLE session_events TO session_events_by_receipt, session_events_by_completion TO session_events;

DROP TABLE session_events_by_receipt;

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
