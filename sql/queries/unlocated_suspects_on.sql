-- The suspects whose home is unknown, as published for one list date (newest incident first).
SELECT * FROM marts.unlocated_suspects WHERE list_date = $list_date
ORDER BY reported_at DESC, incident_id, person_ref
