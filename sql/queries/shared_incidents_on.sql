-- The incidents of a list date that other authorities of the force received too.
SELECT incident_id, other_authorities
FROM marts.shared_incidents
WHERE list_date = $list_date
ORDER BY incident_id
