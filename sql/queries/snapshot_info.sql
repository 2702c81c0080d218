-- For each register: the latest snapshot on or before a date, and its row count; plus the
-- snapshot before that (for the shrinkage check).
WITH snaps AS (
    SELECT 'school_census' AS source, snapshot_date, count(*) AS row_count
    FROM staging.school_census_snapshots GROUP BY snapshot_date
    UNION ALL
    SELECT 'health_register', snapshot_date, count(*)
    FROM staging.health_register_snapshots GROUP BY snapshot_date
)
SELECT source, snapshot_date, row_count
FROM snaps
WHERE snapshot_date <= $as_of
ORDER BY source, snapshot_date DESC
