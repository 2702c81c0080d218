-- Auditor extract: where each police nominal was placed and which child it was linked to.
SELECT as_of, incident_id, person_ref, person_id, role, household_id, child_id, link_probability
FROM linked.person_links
ORDER BY as_of, incident_id, person_ref
