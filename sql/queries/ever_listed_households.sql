-- Households listed on any list before a date, with the highest level they were listed at.
SELECT
    household_id,
    CASE max(CASE risk_level WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)
        WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'standard' END AS max_risk_level
FROM marts.mash_list
WHERE list_date < $before
GROUP BY household_id
ORDER BY household_id
