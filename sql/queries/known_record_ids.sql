-- Which of the record ids asked for (as `hearth review` shows them) were ever staged.
WITH ids AS (SELECT unnest($ids::VARCHAR[]) AS record_id),
known AS (
    SELECT 'health_register:' || nhs_number AS record_id FROM staging.health_register_snapshots
    UNION
    SELECT 'school_census:' || upn FROM staging.school_census_snapshots
    UNION
    SELECT 'police_persons:' || incident_id || ':' || person_ref FROM staging.police_person_versions
)
SELECT DISTINCT record_id FROM known JOIN ids USING (record_id)
ORDER BY record_id
