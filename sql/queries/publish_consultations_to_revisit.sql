INSERT INTO marts.consultations_to_revisit BY NAME
SELECT list_date, contact_id, received_at, contact_type, anonymous, caller_role, caller_org,
       concern_category, level_stated, level_recorded, outcome, why, candidate_child_ids, run_id
FROM linked.pending_consultations_to_revisit
WHERE list_date = $list_date AND run_id = $run_id
