-- The link decisions that touch any of the child's source records on a date.
WITH records AS (
    SELECT record_id FROM linked.child_xref WHERE as_of = $as_of AND child_id = $child_id
)
SELECT DISTINCT d.link_type, d.left_id, d.right_id, d.match_weight, d.probability, d.decision, d.scores
FROM audit.link_decisions AS d
WHERE d.as_of = $as_of
  AND (d.left_id IN (SELECT record_id FROM records) OR d.right_id IN (SELECT record_id FROM records))
ORDER BY d.probability DESC NULLS LAST, d.left_id, d.right_id
