-- The school_census rows staged from the latest snapshot before a date, as they were
-- delivered (raw text). Validation re-runs only the date-dependent checks on a row that
-- arrives again with the same text (pipeline/validate.py, _validate_changed_rows).
SELECT s.snapshot_date, r.*
FROM raw.school_census AS r
JOIN staging.school_census_snapshots AS s
  ON s.snapshot_date = r.delivery_date AND s._file = r._file AND s._row = r._row
WHERE s.snapshot_date = (
    SELECT max(snapshot_date) FROM staging.school_census_snapshots WHERE snapshot_date < $before
)
