-- The latest staged version of every police person record on or before a date (for
-- display beside a register record: review, explain).
SELECT * EXCLUDE (delivery_date, run_id)
FROM staging.police_person_versions
WHERE delivery_date <= $as_of
QUALIFY row_number() OVER (PARTITION BY incident_id, person_ref ORDER BY delivery_date DESC) = 1
