-- Tonight's unlocated_suspects, moved from its pending table (created from this mart: same columns).
INSERT INTO marts.unlocated_suspects BY NAME
SELECT *
FROM linked.pending_unlocated_suspects
WHERE list_date = $list_date AND run_id = $run_id
