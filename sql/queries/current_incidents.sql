-- Police incidents as of a date: for each incident the version with the latest updated_at
-- among deliveries up to that date (a late-arriving older update never wins; ties go to
-- the later delivery, then the later row).
WITH versions AS (
    SELECT *
    FROM staging.police_incident_versions
    WHERE delivery_date <= $as_of
), ranked AS (
    SELECT
        *,
        min(delivery_date) OVER (PARTITION BY incident_id) AS first_seen_on,
        row_number() OVER (
            PARTITION BY incident_id ORDER BY updated_at DESC, delivery_date DESC, _row DESC
        ) AS rank
    FROM versions
)
SELECT
    incident_id, reported_at, updated_at, dash_risk, children_present, offence,
    address_line1, address_line2, town, postcode, uprn,
    first_seen_on,
    delivery_date AS last_changed_on
FROM ranked
WHERE rank = 1
ORDER BY incident_id
