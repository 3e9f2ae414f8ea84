-- Per-minute latency rollup (by API receive minute and outcome), filled by a materialized view
-- on every insert into session_events.
--
-- The view sees every inserted block, so a redelivered event is counted (and enters the
-- quantile states) once per delivery: this table is for dashboards and trends, and exact
-- numbers come from session_events (dedupe-aware). The rollup count minus the distinct events
-- in the raw table is the number of redeliveries (see docs/analytics.md).
--
-- Plain String columns only: on 18.16 a view yielding LowCardinality breaks later inserts.
-- 18.16 has no SimpleAggregateFunction, so the count is a countState.
CREATE TABLE IF NOT EXISTS session_latency_1m
(
    minute DateTime('UTC'),
    outcome String,
    events AggregateFunction(count),
    duration_ms_q AggregateFunction(quantiles(0.5, 0.95, 0.99), Int64),
    client_to_api_lag_ms_q AggregateFunction(quantiles(0.5, 0.95, 0.99), Int64),
    api_to_analytics_lag_ms_q AggregateFunction(quantiles(0.5, 0.95, 0.99), Int64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, outcome);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_latency_1m_mv TO session_latency_1m
AS SELECT
    toStartOfMinute(received_at) AS minute,
    outcome,
    countState() AS events,
    quantilesState(0.5, 0.95, 0.99)(duration_ms) AS duration_ms_q,
    quantilesState(0.5, 0.95, 0.99)(client_to_api_lag_ms) AS client_to_api_lag_ms_q,
    quantilesState(0.5, 0.95, 0.99)(api_to_analytics_lag_ms) AS api_to_analytics_lag_ms_q
FROM session_events
GROUP BY minute, outcome;
