-- For each model, its latest u estimate made on or before the night being linked (a
-- rerun of a night finds the estimate its first run made, so it scores identically).
SELECT model, n_left, n_right, candidate_pairs, u_estimated_on, u_pairs, parameters::VARCHAR AS parameters
FROM audit.link_models
WHERE u_pairs > 0 AND u_estimated_on <= $as_of
QUALIFY row_number() OVER (PARTITION BY model ORDER BY u_estimated_on DESC, recorded_at ASC) = 1
