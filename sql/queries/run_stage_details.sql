-- What each finished stage of a run recorded, in the order the stages ran.
SELECT stage, detail
FROM audit.run_stages
WHERE run_id = $run_id
ORDER BY started_at
