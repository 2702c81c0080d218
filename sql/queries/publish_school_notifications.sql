-- Tonight's school_notifications, moved from its pending table (created from this mart: same columns).
INSERT INTO marts.school_notifications BY NAME
SELECT *
FROM linked.pending_school_notifications
WHERE list_date = $list_date AND run_id = $run_id
