-- The rows of one register snapshot that were staged, as they were delivered (raw text).
-- Validation re-runs only the date-dependent checks on a row that arrives again with the
-- same text (pipeline/validate.py, _validate_changed_rows). $raw_table and
-- $snapshot_table are raw.<source> and staging.<source>_snapshots, bound as values.
SELECT r.*
FROM query_table($raw_table) AS r
JOIN query_table($snapshot_table) AS s
  ON s.snapshot_date = r.delivery_date AND s._file = r._file AND s._row = r._row
WHERE s.snapshot_date = $snapshot_date
