-- Auditor extract: flags without names, addresses or dates of birth. Age in whole months
-- on the list date is kept because the age rules (e.g. UNDER_ONE) cannot be audited
-- without it; school and GP are reduced to whether the child has one.
SELECT f.list_date, f.child_id, f.household_id, f.nhs_number, f.upn,
       f.school_urn IS NOT NULL AS has_school, f.gp_practice_code IS NOT NULL AS has_gp,
       date_sub('month', f.dob, f.list_date) AS age_months,
       f.risk_level, f.reasons, f.incident_ids, f.status, f.rules_version, f.run_id
FROM marts.child_flags AS f
ORDER BY f.list_date, f.child_id
