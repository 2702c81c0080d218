-- A register's latest snapshot on or before a date, every staged column but the run id.
-- $snapshot_table is staging.<source>_snapshots, bound as a value (query_table); the
-- caller orders the columns and rows by the registry (warehouse.register_snapshot).
SELECT * EXCLUDE (snapshot_date, run_id)
FROM query_table($snapshot_table)
WHERE snapshot_date = (
    SELECT max(snapshot_date) FROM query_table($snapshot_table) WHERE snapshot_date <= $as_of
)
