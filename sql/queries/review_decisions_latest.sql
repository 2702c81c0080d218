-- The latest reviewer decision for each pair made up to the end of a list date (Europe/London):
-- later decisions supersede earlier ones, and a rerun of a past night sees only the reviews
-- that existed by then, so it reproduces what was published.
SELECT left_id, right_id, decision
FROM audit.review_decisions
WHERE CAST(decided_at AT TIME ZONE 'Europe/London' AS DATE) <= $until
QUALIFY row_number() OVER (PARTITION BY left_id, right_id ORDER BY decided_at DESC) = 1
ORDER BY left_id, right_id
