-- Rows listed on any list before a date, by their stable key (a household, or a child with
-- no known home), with the highest level listed at and the last date listed. Rows published
-- before list_key existed are keyed the same way from their household or only child.
SELECT
    coalesce(list_key, 'household:' || household_id, 'child:' || child_ids[1]) AS list_key,
    any_value(household_id) AS household_id,
    CASE max(CASE risk_level WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)
        WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'standard' END AS max_risk_level,
    max(list_date) AS last_listed_on
FROM marts.mash_list
WHERE list_date < $before
GROUP BY 1
ORDER BY 1
