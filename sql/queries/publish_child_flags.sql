-- Tonight's child_flags, moved from its pending table (created from this mart: same columns).
INSERT INTO marts.child_flags BY NAME
SELECT *
FROM linked.pending_child_flags
WHERE list_date = $list_date AND run_id = $run_id
