-- Incidents still inside the flag window that a purge would touch: a version or a person
-- row staged before the police cut-off, of an incident reported (Europe/London date) on or
-- after the first day of the window.
WITH touched AS (
    SELECT incident_id FROM staging.police_incident_versions WHERE delivery_date < $cutoff
    UNION
    SELECT incident_id FROM staging.police_person_versions WHERE delivery_date < $cutoff
)
SELECT count(DISTINCT v.incident_id) AS incidents
FROM staging.police_incident_versions AS v
JOIN touched USING (incident_id)
WHERE CAST(timezone('Europe/London', v.reported_at) AS DATE) >= $window_start
