-- The people of each current incident: the set delivered with the incident's winning
-- version (or, if that delivery carried none, the latest set delivered before it).
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
), person_sets AS (
    SELECT p.incident_id, max(p.delivery_date) AS set_date
    FROM staging.police_person_versions AS p
    JOIN winners AS w ON w.incident_id = p.incident_id AND p.delivery_date <= w.winner_date
    GROUP BY p.incident_id
)
SELECT
    p.incident_id, p.person_ref, p.role, p.forename, p.surname, p.dob, p.gender,
    p.relationship_to_victim, p.address_line1, p.address_line2, p.town, p.postcode, p.uprn,
    p._file, p._row
FROM staging.police_person_versions AS p
JOIN person_sets AS s ON s.incident_id = p.incident_id AND s.set_date = p.delivery_date
ORDER BY p.incident_id, p.person_ref
