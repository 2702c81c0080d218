-- The people of each current incident as of a date.
--
-- A delivery that carries a version of an incident carries that incident's full set of
-- people, which replaces the earlier set (landing contract). The base set is the one
-- delivered with the incident's winning version, or, if that delivery carried none, the
-- latest full set delivered before it. A person row may also arrive without its incident
-- (the contract allows a police_persons row for an incident delivered earlier): such rows
-- delivered after the base set are merged into it, the latest delivery winning per
-- person_ref, so a child added to a known incident reaches linkage and the flags.
WITH winners AS (
    SELECT incident_id, delivery_date AS winner_date
    FROM (
        SELECT
            incident_id, delivery_date,
            row_number() OVER (
                PARTITION BY incident_id ORDER BY updated_at DESC, delivery_date DESC, _row DESC
            ) AS rank
        FROM staging.police_incident_versions
        WHERE delivery_date <= $as_of
    )
    WHERE rank = 1
), incident_deliveries AS (
    SELECT DISTINCT incident_id, delivery_date
    FROM staging.police_incident_versions
    WHERE delivery_date <= $as_of
), persons AS (
    SELECT p.*, d.incident_id IS NOT NULL AS with_incident
    FROM staging.police_person_versions AS p
    LEFT JOIN incident_deliveries AS d USING (incident_id, delivery_date)
    WHERE p.delivery_date <= $as_of
), base_sets AS (
    SELECT p.incident_id, max(p.delivery_date) AS set_date
    FROM persons AS p
    JOIN winners AS w ON w.incident_id = p.incident_id AND p.delivery_date <= w.winner_date
    WHERE p.with_incident
    GROUP BY p.incident_id
), current_rows AS (
    SELECT p.*
    FROM persons AS p
    JOIN winners AS w USING (incident_id)
    LEFT JOIN base_sets AS s USING (incident_id)
    WHERE (p.with_incident AND p.delivery_date = s.set_date)
       OR (NOT p.with_incident AND (s.set_date IS NULL OR p.delivery_date > s.set_date))
    QUALIFY row_number() OVER (
        PARTITION BY p.incident_id, p.person_ref ORDER BY p.delivery_date DESC, p._row DESC
    ) = 1
)
SELECT
    incident_id, person_ref, role, forename, surname, dob, gender,
    relationship_to_victim, address_line1, address_line2, town, postcode, uprn,
    _file, _row
FROM current_rows
ORDER BY incident_id, person_ref
