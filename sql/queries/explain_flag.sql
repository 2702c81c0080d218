SELECT list_date, risk_level, reasons, incident_ids, status, rules_version, household_id
FROM marts.child_flags WHERE list_date = $list_date AND child_id = $child_id
