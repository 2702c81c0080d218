-- Each logical date any run was made for, and whether one of its runs succeeded or failed.
SELECT logical_date,
       bool_or(status = 'succeeded') AS succeeded,
       bool_or(status = 'failed') AS failed
FROM audit.runs
GROUP BY logical_date
ORDER BY logical_date
