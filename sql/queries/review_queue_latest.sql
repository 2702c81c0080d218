-- The clerical review queue of the latest linkage, less pairs a person has already decided,
-- with why each pair waits and since when (its first night in the queue).
SELECT q.as_of, q.link_type, q.left_id, q.right_id, q.probability, q.scores, q.reason,
       (SELECT min(h.as_of) FROM linked.review_queue AS h
        WHERE h.left_id = q.left_id AND h.right_id = q.right_id) AS waiting_since
FROM linked.review_queue AS q
WHERE q.as_of = (SELECT max(as_of) FROM linked.review_queue)
  AND NOT EXISTS (
      SELECT 1 FROM audit.review_decisions AS d
      WHERE d.left_id = q.left_id AND d.right_id = q.right_id
  )
ORDER BY q.probability DESC, q.left_id, q.right_id
LIMIT $limit
