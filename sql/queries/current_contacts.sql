-- MASH contacts as of a date: for each contact the version with the latest updated_at among
-- deliveries up to that date (ties go to the later delivery, then the later row), with the
-- date it was first delivered (the night it "arrived").
SELECT * EXCLUDE (delivery_date, run_id, rank)
FROM (
    SELECT
        *,
        min(delivery_date) OVER (PARTITION BY contact_id) AS first_seen_on,
        max(delivery_date) OVER (PARTITION BY contact_id) AS last_changed_on,
        row_number() OVER (
            PARTITION BY contact_id ORDER BY updated_at DESC, delivery_date DESC, _row DESC
        ) AS rank
    FROM staging.mash_contact_versions
    WHERE delivery_date <= $as_of
)
WHERE rank = 1
ORDER BY contact_id
