-- A register's snapshots on or before a date and their row counts, newest first (the
-- latest is the current one; the one before it is what the shrinkage check compares to).
-- $snapshot_table is staging.<source>_snapshots, bound as a value (query_table).
SELECT $source AS source, snapshot_date, count(*) AS row_count
FROM query_table($snapshot_table)
WHERE snapshot_date <= $as_of
GROUP BY snapshot_date
ORDER BY snapshot_date DESC
