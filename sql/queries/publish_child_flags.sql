INSERT INTO marts.child_flags BY NAME
SELECT list_date, child_id, household_id, forename, surname, dob, nhs_number, upn, school_urn,
       gp_practice_code, risk_level, reasons, incident_ids, status, rules_version, run_id,
       level_reason, school_name, health_visitor_team, provider_urn, social_care, contact_ids
FROM linked.pending_child_flags
WHERE list_date = $list_date AND run_id = $run_id
