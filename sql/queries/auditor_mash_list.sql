-- Auditor extract: the discussion lists without address or postcode. Follow-ups name a
-- police ref, so only their number is here (the suspects are in unlocated_suspects, hashed).
SELECT list_date, household_id, priority, risk_level, child_ids, incident_ids, reasons, agencies,
       new_since_previous, due_by, rules_version, len(follow_ups) AS follow_up_count, run_id
FROM marts.mash_list
ORDER BY list_date, priority
