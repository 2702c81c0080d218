-- The logical date of the latest night that succeeded (null before the first).
SELECT max(logical_date) AS logical_date FROM audit.runs WHERE status = 'succeeded'
