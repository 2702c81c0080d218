-- Every follow-up put to a MASH discussion up to a list date (e.g. SUSPECT_HOME_UNKNOWN:<incident>/<person>).
SELECT DISTINCT f AS follow_up
FROM marts.mash_list, unnest(follow_ups) AS t(f)
WHERE list_date <= $list_date
