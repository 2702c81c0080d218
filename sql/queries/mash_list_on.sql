-- The published MASH list of one date, in discussion order.
SELECT * FROM marts.mash_list WHERE list_date = $list_date ORDER BY priority
