-- The children flagged on one list date (accuracy against truth).
SELECT DISTINCT child_id FROM marts.child_flags WHERE list_date = $list_date
