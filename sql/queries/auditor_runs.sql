SELECT run_id, logical_date, started_at, ended_at, status, trigger, package_version, git_commit,
       rules_version, input_snapshots, rows_read, rows_quarantined, seconds
FROM audit.runs
ORDER BY started_at
