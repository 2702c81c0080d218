-- The row a run writes when it ends: succeeded or failed, with what its stages recorded.
INSERT INTO audit.run_log (run_id, logical_date, event, event_at, rules_version, input_snapshots,
                           rows_read, rows_quarantined, message, warnings)
VALUES ($run_id, $logical_date, $event, $event_at, $rules_version, $input_snapshots,
        $rows_read, $rows_quarantined, $message, $warnings)
