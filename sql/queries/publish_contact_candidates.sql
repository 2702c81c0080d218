INSERT INTO marts.contact_candidates BY NAME
SELECT list_date, contact_id, child_id, household_id, matched_through, fit_score, fit, run_id
FROM linked.pending_contact_candidates
WHERE list_date = $list_date AND run_id = $run_id
