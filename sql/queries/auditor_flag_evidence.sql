-- Auditor extract: the rules that fired. `detail` is left out: its sentences quote incident
-- ids and coordinators' free-text reasons.
SELECT run_id, list_date, child_id, rule_id, rules_version, incident_ids, household_id, source_records
FROM audit.flag_evidence
ORDER BY list_date, child_id, rule_id
