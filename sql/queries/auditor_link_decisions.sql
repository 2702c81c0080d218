-- Auditor extract: every scored pair. Scores are comparison levels and similarities, never
-- the compared values.
SELECT run_id, as_of, link_type, left_id, right_id, scores, match_weight, probability, decision
FROM audit.link_decisions
ORDER BY as_of, link_type, left_id, right_id
