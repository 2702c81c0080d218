-- Incidents touching a household on a date, with how they reach it. An incident whose
-- police versions have since been purged under retention still comes back (the link stays
-- in linked), without its details and with the date of the first recorded purge that
-- reached its deliveries.
SELECT ih.incident_id, ih.role, ih.basis, i.reported_at, i.dash_risk, i.children_present,
       i.last_changed_on,
       CASE WHEN i.incident_id IS NULL THEN (
           SELECT min(r.removed_on) FROM audit.retention_removals AS r
           WHERE r.table_name = 'staging.police_incident_versions'
             AND r.cutoff > (SELECT min(x.as_of) FROM linked.incident_households AS x WHERE x.incident_id = ih.incident_id)
       ) END AS removed_on
FROM linked.incident_households AS ih
LEFT JOIN (
    SELECT incident_id, reported_at, dash_risk, children_present, delivery_date AS last_changed_on
    FROM staging.police_incident_versions
    WHERE delivery_date <= $as_of
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY updated_at DESC, delivery_date DESC, _row DESC) = 1
) AS i ON i.incident_id = ih.incident_id
WHERE ih.as_of = $as_of AND ih.household_id = $household_id
-- The ways one incident reaches the household in a fixed order (victim's home first), so the
-- same night always reads the same, however the linkage history stores its rows.
ORDER BY i.reported_at DESC NULLS LAST, ih.incident_id,
         list_position(['victim_home', 'suspect_home', 'incident_address', 'linked_child_home', 'known_home',
                        'named', 'incident_dwelling', 'address_conflict'], ih.basis) NULLS LAST,
         ih.basis, ih.person_ref NULLS FIRST
