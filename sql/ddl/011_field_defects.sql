-- Field-level quarantine: a register row (or a police nominal) with one unusable value is
-- staged with that value null instead of being quarantined whole, so the child stays in
-- the safety net; audit.field_defects records every value withheld and why.

-- A register row whose identifier was unusable is staged without it (never linked or
-- guarded on) under a substitute id, "withheld-<12 hex>" from the delivered text: its
-- record id is then '<source>:' || substitute_id, stable from one snapshot to the next.
ALTER TABLE staging.health_register_snapshots ALTER COLUMN nhs_number DROP NOT NULL;
ALTER TABLE staging.health_register_snapshots ADD COLUMN substitute_id VARCHAR;
ALTER TABLE staging.school_census_snapshots ALTER COLUMN upn DROP NOT NULL;
ALTER TABLE staging.school_census_snapshots ADD COLUMN substitute_id VARCHAR;

-- Append-only, like the rest of audit. One row per value withheld from a staged row and
-- reason. The reason never quotes the value: the delivered text stays in raw, under raw's
-- retention period.
CREATE TABLE audit.field_defects (
    run_id          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    source          VARCHAR NOT NULL,
    _file           VARCHAR NOT NULL,
    _row            BIGINT NOT NULL,
    record_id       VARCHAR NOT NULL,         -- the staged record, as linkage names it
    column_name     VARCHAR NOT NULL,
    rule            VARCHAR,                  -- the expectation's meta.rule, e.g. dob.date
    reason          VARCHAR NOT NULL,         -- e.g. 'is not a date (YYYY-MM-DD or DD/MM/YYYY)'
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Auditor view: values withheld per delivery, source, column and reason (counts only).
CREATE VIEW audit.field_defect_summary AS
SELECT delivery_date, source, _file, column_name, reason, count(DISTINCT _row) AS rows,
       min(_row) AS first_row, max(_row) AS last_row
FROM audit.field_defects
GROUP BY ALL;

-- Auditor view: what each child's records lacked on each night they were linked. One row
-- per (as_of, child, record, withheld value, reason), from the delivery of that record
-- current on as_of: the register snapshot in use, or a nominal's latest version.
CREATE VIEW audit.child_withheld_fields AS
WITH defects AS (
    SELECT DISTINCT delivery_date, source, _file, _row, record_id, column_name, rule, reason
    FROM audit.field_defects
),
records AS (
    SELECT as_of, child_id, record_id FROM linked.child_xref
    UNION
    SELECT as_of, child_id, 'police_persons:' || incident_id || ':' || person_ref
    FROM linked.person_links WHERE child_id IS NOT NULL
),
later_register AS (
    SELECT DISTINCT 'health_register' AS source, snapshot_date AS delivery_date FROM staging.health_register_snapshots
    UNION ALL
    SELECT DISTINCT 'school_census', snapshot_date FROM staging.school_census_snapshots
),
later_person AS (
    SELECT DISTINCT 'police_persons:' || incident_id || ':' || person_ref AS record_id, delivery_date
    FROM staging.police_person_versions
)
SELECT r.as_of, r.child_id, d.record_id, d.source, d.delivery_date, d._file, d._row,
       d.column_name, d.rule, d.reason
FROM records AS r
JOIN defects AS d ON d.record_id = r.record_id AND d.delivery_date <= r.as_of
WHERE NOT EXISTS (
        SELECT 1 FROM later_register AS g
        WHERE g.source = d.source AND g.delivery_date > d.delivery_date AND g.delivery_date <= r.as_of)
  AND NOT EXISTS (
        SELECT 1 FROM later_person AS p
        WHERE d.source = 'police_persons' AND p.record_id = d.record_id
          AND p.delivery_date > d.delivery_date AND p.delivery_date <= r.as_of);
