SELECT * EXCLUDE (run_id) FROM marts.consultations_to_revisit WHERE list_date = $list_date ORDER BY received_at, contact_id
