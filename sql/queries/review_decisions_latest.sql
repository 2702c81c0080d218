-- The latest reviewer decision for each pair (later decisions supersede earlier ones).
SELECT left_id, right_id, decision
FROM audit.review_decisions
QUALIFY row_number() OVER (PARTITION BY left_id, right_id ORDER BY decided_at DESC) = 1
ORDER BY left_id, right_id
