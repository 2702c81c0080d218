-- The published school notifications of one date.
SELECT * FROM marts.school_notifications WHERE list_date = $list_date ORDER BY school_urn, child_id, incident_id
