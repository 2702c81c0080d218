SELECT list_date, child_id, household_id, forename, surname, dob, nhs_number, upn, school_urn,
       gp_practice_code, risk_level, reasons, incident_ids, status, rules_version,
       level_reason, school_name, health_visitor_team
FROM marts.child_flags
WHERE list_date = $list_date
ORDER BY child_id
