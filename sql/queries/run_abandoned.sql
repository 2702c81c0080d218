-- Runs still "running" when a writer opens the warehouse died (killed, machine lost): we
-- hold the only writer. Each gets an 'abandoned' end, naming the run that superseded it.
INSERT INTO audit.run_log (run_id, logical_date, event, event_at, message)
SELECT run_id, logical_date, 'abandoned', $event_at, 'no end recorded; superseded by run ' || $run_id
FROM audit.runs
WHERE status = 'running'
