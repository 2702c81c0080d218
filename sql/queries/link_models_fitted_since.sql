-- The model each kind of comparison was last scored with from the night of the last full
-- re-link up to the night being linked (its latest run): the fit an incremental night keeps
-- (docs/linkage.md "incremental linkage"). A rerun of a night finds what its first run used.
SELECT model, n_left, n_right, candidate_pairs, u_estimated_on, u_pairs, parameters::VARCHAR AS parameters
FROM audit.link_models
WHERE as_of >= $since AND as_of <= $as_of
QUALIFY row_number() OVER (PARTITION BY model ORDER BY as_of DESC, recorded_at DESC) = 1
