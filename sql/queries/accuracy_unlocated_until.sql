-- Every suspect named as unlocated (home unknown) on any list up to a list date.
SELECT DISTINCT incident_id, person_ref FROM marts.unlocated_suspects WHERE list_date <= $list_date
