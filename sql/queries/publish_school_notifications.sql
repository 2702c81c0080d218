INSERT INTO marts.school_notifications BY NAME
SELECT list_date, school_urn, child_id, upn, incident_id, notify_by, incident_reported_at,
       child_present, run_id, late, setting_type
FROM linked.pending_school_notifications
WHERE list_date = $list_date AND run_id = $run_id
