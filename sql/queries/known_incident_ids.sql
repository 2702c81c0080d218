-- Incident ids delivered before a date (police_persons may refer to any of them).
SELECT DISTINCT incident_id
FROM staging.police_incident_versions
WHERE delivery_date < $before
