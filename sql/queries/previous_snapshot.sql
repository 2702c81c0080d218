-- A register's latest snapshot before a date, and the validation rules it was staged under
-- (the fingerprint its run's validate stage recorded in audit.run_stages).
-- $snapshot_table is staging.<source>_snapshots, bound as a value (query_table).
WITH snap AS (
    SELECT max(snapshot_date) AS snapshot_date FROM query_table($snapshot_table) WHERE snapshot_date < $before
)
SELECT DISTINCT s.snapshot_date, v.detail->>'$.rules_fingerprint' AS rules_fingerprint
FROM query_table($snapshot_table) AS s
JOIN snap USING (snapshot_date)
LEFT JOIN audit.run_stages AS v ON v.run_id = s.run_id AND v.stage = 'validate'
