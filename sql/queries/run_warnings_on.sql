-- The warnings of the run whose lists are published for a list date (latest publication).
SELECT r.warnings
FROM audit.published_runs AS p
JOIN audit.runs AS r USING (run_id)
WHERE p.list_date = $list_date
