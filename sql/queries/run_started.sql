-- The row a run writes when it starts (audit.run_log is append-only: one row at start,
-- one at end).
INSERT INTO audit.run_log (run_id, logical_date, event, event_at, trigger, package_version,
                           git_commit, rules_version, config)
VALUES ($run_id, $logical_date, 'started', $event_at, $trigger, $package_version,
        $git_commit, $rules_version, $config)
