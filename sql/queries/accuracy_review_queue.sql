-- The clerical review queue one night left (accuracy: the queue's share of linked pairs).
-- A pair a reviewer had decided by that night is no longer in it: the decision overrode the model.
SELECT q.link_type, q.left_id, q.right_id, q.reason
FROM linked.review_queue AS q
WHERE q.as_of = $as_of
