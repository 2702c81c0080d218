INSERT INTO marts.unlocated_suspects BY NAME
SELECT list_date, incident_id, person_ref, person_id, reported_at, dash_risk, listed_households,
       new_since_previous, rules_version, run_id
FROM linked.pending_unlocated_suspects
WHERE list_date = $list_date AND run_id = $run_id
