-- The id cross-reference left by the latest linkage before a date: which child_id each
-- source record had, so ids stay stable night after night.
SELECT record_id, child_id
FROM linked.child_xref
WHERE as_of = (SELECT max(as_of) FROM linked.link_nights WHERE as_of < $before)
