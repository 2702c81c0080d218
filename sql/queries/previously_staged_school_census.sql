-- The school_census rows staged from the latest snapshot before a date, as they were
-- delivered (raw text). Validation re-runs only the date-dependent checks on a row that
-- arrives again with the same text (pipeline/validate.py, _validate_changed_rows).
-- rules_fingerprint: what the run that staged it validated under (audit.run_stages).
SELECT s.snapshot_date, v.detail->>'$.rules_fingerprint' AS rules_fingerprint, r.*
FROM raw.school_census AS r
JOIN staging.school_census_snapshots AS s
  ON s.snapshot_date = r.delivery_date AND s._file = r._file AND s._row = r._row
LEFT JOIN audit.run_stages AS v ON v.run_id = s.run_id AND v.stage = 'validate'
WHERE s.snapshot_date = (
    SELECT max(snapshot_date) FROM staging.school_census_snapshots WHERE snapshot_date < $before
)
