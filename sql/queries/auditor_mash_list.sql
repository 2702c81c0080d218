-- Auditor extract: the discussion lists without address or postcode.
SELECT list_date, household_id, priority, risk_level, child_ids, incident_ids, reasons, agencies,
       new_since_previous, due_by, rules_version, run_id
FROM marts.mash_list
ORDER BY list_date, priority
