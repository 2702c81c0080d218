-- Every source record as of a date under its record id, in one shape for display
-- (review side by side, explain). Only ids asked for are returned.
WITH ids AS (SELECT unnest($record_ids::VARCHAR[]) AS record_id),
health AS (
    SELECT 'health_register:' || coalesce(nhs_number, substitute_id) AS record_id, 'health_register' AS source,
           forename, surname, dob, concat_ws(', ', address_line1, address_line2, town) AS address,
           postcode, 'GP ' || gp_practice_code AS detail, _file, _row
    FROM staging.health_register_snapshots
    WHERE snapshot_date = (SELECT max(snapshot_date) FROM staging.health_register_snapshots WHERE snapshot_date <= $as_of)
),
school AS (
    SELECT 'school_census:' || coalesce(upn, substitute_id), 'school_census',
           forename, surname, dob, concat_ws(', ', address_line1, address_line2, town),
           postcode, 'school ' || school_urn || ' ' || coalesce(school_name, ''), _file, _row
    FROM staging.school_census_snapshots
    WHERE snapshot_date = (SELECT max(snapshot_date) FROM staging.school_census_snapshots WHERE snapshot_date <= $as_of)
),
police AS (
    SELECT 'police_persons:' || incident_id || ':' || person_ref, 'police_persons',
           forename, surname, dob, concat_ws(', ', address_line1, address_line2, town),
           postcode, role || ' on incident ' || incident_id, _file, _row
    FROM staging.police_person_versions
    WHERE delivery_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY incident_id, person_ref ORDER BY delivery_date DESC) = 1
)
SELECT r.*
FROM (SELECT * FROM health UNION ALL SELECT * FROM school UNION ALL SELECT * FROM police) AS r
JOIN ids USING (record_id)
ORDER BY r.record_id
