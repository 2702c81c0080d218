-- Auditor extract: the suspects whose home was unknown, per list date (ids are hashed).
SELECT list_date, incident_id, person_ref, person_id, reported_at, dash_risk, listed_households,
       new_since_previous, rules_version, run_id
FROM marts.unlocated_suspects
ORDER BY list_date, incident_id, person_ref
