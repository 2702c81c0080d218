-- The rows of one register snapshot that were staged whole, as they were delivered (raw
-- text). Validation re-runs only the date-dependent checks on a row that arrives again with
-- the same text (pipeline/validate/checks.py, _validate_changed_rows); a row staged with a value
-- withheld (audit.field_defects) failed a check that does not depend on the date, so it is
-- left out and checked in full again. $raw_table and $snapshot_table are raw.<source> and
-- staging.<source>_snapshots, bound as values; $source is the register's name.
SELECT r.*
FROM query_table($raw_table) AS r
JOIN query_table($snapshot_table) AS s
  ON s.snapshot_date = r.delivery_date AND s._file = r._file AND s._row = r._row
WHERE s.snapshot_date = $snapshot_date
  AND NOT EXISTS (
      SELECT 1 FROM audit.field_defects AS f
      WHERE f.source = $source AND f.delivery_date = s.snapshot_date AND f._file = s._file AND f._row = s._row
  )
