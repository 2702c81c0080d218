-- Auditor extract: every police incident version, without location or free-text offence.
SELECT delivery_date, incident_id, reported_at, updated_at, dash_risk, children_present
FROM staging.police_incident_versions
ORDER BY incident_id, delivery_date, updated_at
