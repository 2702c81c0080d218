SELECT rule_id, rules_version, incident_ids, household_id, source_records, detail
FROM audit.flag_evidence
WHERE list_date = $list_date AND child_id = $child_id
QUALIFY row_number() OVER (PARTITION BY rule_id ORDER BY run_id DESC) = 1
ORDER BY rule_id
