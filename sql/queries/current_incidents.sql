-- Police incidents as of a date: for each incident the version with the latest updated_at
-- among deliveries up to that date (a late-arriving older update never wins; ties go to
-- the later delivery, then the later row).
--
-- A naive local updated_at in the hour repeated when the clocks go back is staged as the
-- earlier (BST) instant but may be an hour later (GMT). When such a version could be later
-- than the latest, the order cannot be decided: the one with the higher DASH risk wins, so
-- an escalation is never lost to the clock change, and the incident says so
-- (order_ambiguous, versions: each candidate's delivery date and DASH risk).
WITH versions AS (
    SELECT *
    FROM staging.police_incident_versions
    WHERE delivery_date <= $as_of
), ranked AS (
    SELECT
        *,
        min(delivery_date) OVER (PARTITION BY incident_id) AS first_seen_on,
        max(updated_at) OVER (PARTITION BY incident_id) AS latest_at,
        row_number() OVER (
            PARTITION BY incident_id ORDER BY updated_at DESC, delivery_date DESC, _row DESC
        ) AS rank
    FROM versions
), candidates AS (
    SELECT
        *,
        count(*) OVER (PARTITION BY incident_id) > 1 AS order_ambiguous,
        list(delivery_date::VARCHAR || ': ' || dash_risk ORDER BY rank) OVER (PARTITION BY incident_id)
            AS versions,
        row_number() OVER (
            PARTITION BY incident_id
            ORDER BY CASE dash_risk WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'standard' THEN 1 ELSE 0 END DESC,
                     rank
        ) AS pick
    FROM ranked
    WHERE rank = 1 OR (updated_at_ambiguous AND updated_at + INTERVAL 1 HOUR > latest_at)
)
SELECT
    incident_id, reported_at, updated_at, dash_risk, children_present, offence,
    address_line1, address_line2, town, postcode, uprn,
    first_seen_on,
    delivery_date AS last_changed_on,
    order_ambiguous,
    CASE WHEN order_ambiguous THEN versions END AS versions
FROM candidates
WHERE pick = 1
ORDER BY incident_id
