-- How many list dates a run published (into the working file, at least).
SELECT count(*) AS publications
FROM audit.publications
WHERE run_id = $run_id
