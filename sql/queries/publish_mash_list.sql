-- Tonight's mash_list, moved from its pending table (created from this mart: same columns).
INSERT INTO marts.mash_list BY NAME
SELECT *
FROM linked.pending_mash_list
WHERE list_date = $list_date AND run_id = $run_id
