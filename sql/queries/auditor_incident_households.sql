-- Auditor extract: how each incident reached each household.
SELECT as_of, incident_id, household_id, role, person_ref, basis
FROM linked.incident_households
ORDER BY as_of, incident_id, household_id
