-- migrate:up

-- user_stats is now maintained incrementally for users whose batch only adds sessions, and
-- recomputed for users with a replaced session. Both must land on the same bits, so averages
-- are derived from exact sums: total_duration_ms (bigint) and score_sum (numeric: exact
-- addition, so the order rows are summed in cannot change the result, unlike float8).
ALTER TABLE user_stats ADD COLUMN score_sum numeric NOT NULL DEFAULT 0;

UPDATE user_stats u SET
  score_sum = agg.score_sum,
  avg_score = (agg.score_sum / NULLIF(u.scored_sessions, 0))::float8,
  avg_duration_ms = (u.total_duration_ms::numeric / u.sessions_completed)::float8
FROM (
  SELECT user_id, coalesce(sum(score::numeric), 0) AS score_sum FROM sessions GROUP BY user_id
) agg
WHERE agg.user_id = u.user_id;

-- migrate:down
ALTER TABLE user_stats DROP COLUMN score_sum;
