-- How many records reviewers' decisions touched after $since up to the end of $until
-- (Europe/London dates): many at once re-link the night in full.
SELECT count(DISTINCT record_id) AS records
FROM (
    SELECT left_id AS record_id, decided_at FROM audit.review_decisions
    UNION ALL
    SELECT right_id, decided_at FROM audit.review_decisions
)
WHERE CAST(decided_at AT TIME ZONE 'Europe/London' AS DATE) > $since
  AND CAST(decided_at AT TIME ZONE 'Europe/London' AS DATE) <= $until
