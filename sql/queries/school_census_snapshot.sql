-- The latest school census snapshot on or before a date.
SELECT
    upn, forename, surname, dob, gender, address_line1, address_line2, town, postcode, uprn,
    school_urn, school_name, year_group, substitute_id, _file, _row
FROM staging.school_census_snapshots
WHERE snapshot_date = (
    SELECT max(snapshot_date) FROM staging.school_census_snapshots WHERE snapshot_date <= $as_of
)
ORDER BY upn, substitute_id
