-- The run's pending flag evidence for a list date that the audit trail does not hold yet.
-- Flag evidence is audit: appended, skipping evidence an earlier run of the date already
-- holds (stored once per distinct row by the warehouse module).
SELECT p.*
FROM linked.pending_flag_evidence AS p
WHERE p.list_date = $list_date AND p.run_id = $run_id
  AND NOT EXISTS (
      SELECT 1 FROM audit.flag_evidence AS a
      WHERE a.list_date = p.list_date AND a.child_id = p.child_id AND a.rule_id = p.rule_id
        AND a.rules_version = p.rules_version
        AND a.incident_ids IS NOT DISTINCT FROM p.incident_ids
        AND a.household_id IS NOT DISTINCT FROM p.household_id
        AND a.source_records IS NOT DISTINCT FROM p.source_records
  )
