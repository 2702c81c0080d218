-- The latest health register snapshot on or before a date.
SELECT
    nhs_number, forename, surname, dob, gender, address_line1, address_line2, town, postcode,
    uprn, gp_practice_code, health_visitor_team, substitute_id, _file, _row
FROM staging.health_register_snapshots
WHERE snapshot_date = (
    SELECT max(snapshot_date) FROM staging.health_register_snapshots WHERE snapshot_date <= $as_of
)
ORDER BY nhs_number, substitute_id
