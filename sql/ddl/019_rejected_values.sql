-- Rejected rows expire; the audit trail of their rejection stays.
--
-- audit.quarantine kept each rejected row whole, and audit is kept for as long as the
-- partnership keeps its audit trail, so names, dates of birth and NHS numbers of rejected
-- rows outlived the same data in raw. From here on:
--   * audit.quarantine (append-only, kept with the audit) proves what was rejected and why:
--     source, delivery date, file, row, run, reasons with the delivered text masked, and
--     row_hash, an HMAC-SHA256 of the row's text under the pseudonymisation key (an auditor
--     holding a resent file can show it is the same row without the warehouse keeping it);
--   * restricted.rejected_rows holds the row's values and the reasons as written (they
--     quote the delivered text) and is purged on the raw layer's schedule.
CREATE SCHEMA IF NOT EXISTS restricted;

CREATE TABLE restricted.rejected_rows (
    run_id          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    source          VARCHAR NOT NULL,
    _file           VARCHAR NOT NULL,
    _row            BIGINT NOT NULL,
    row_hash        VARCHAR,                  -- as in audit.quarantine
    reasons         VARCHAR[] NOT NULL,       -- as written, quoting the delivered text
    record          JSON NOT NULL,            -- original text of every column, verbatim
    quarantined_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Every rejected row so far keeps its values in the restricted layer (and so expires with
-- raw); its hash is filled in by the first night or purge that holds the key, while the
-- values are still there (the key is never in the warehouse, so SQL cannot compute it).
INSERT INTO restricted.rejected_rows
SELECT run_id, delivery_date, source, _file, _row, NULL, reasons, record, quarantined_at
FROM audit.quarantine;

ALTER TABLE audit.quarantine ADD COLUMN row_hash VARCHAR;
-- Every reason quotes the delivered text as '<text>' followed by a space; removing from
-- the first quote to the last "' " leaves no part of the value, even one holding quotes,
-- and gives the wording the pipeline now records ("dob: is not a date …").
UPDATE audit.quarantine
SET reasons = list_transform(reasons, lambda r: regexp_replace(r, '''.*'' ', ''));
ALTER TABLE audit.quarantine DROP COLUMN record;

-- Which police record carried which person_id, night by night (as linked.child_xref does
-- for children), so an adult keeps his id when his earliest record is purged or delivered
-- again. Seeded from the person links already published.
CREATE TABLE linked.person_xref (
    as_of      DATE NOT NULL,
    record_id  VARCHAR NOT NULL,
    person_id  VARCHAR NOT NULL
);
INSERT INTO linked.person_xref
SELECT DISTINCT as_of, 'police_persons:' || incident_id || ':' || person_ref, person_id
FROM linked.person_links
WHERE person_id IS NOT NULL;

-- Auditor view: every rejected row, with its values while the restricted layer holds them
-- and, once purged, the date they were removed. A purge is read from audit.purges: an
-- applied purge removed the rows delivered before its cut-off for restricted.rejected_rows.
CREATE VIEW audit.retention_removals AS
SELECT CAST(p.purged_at AS DATE) AS removed_on, p.as_of,
       json_extract_string(e.value, '$.table') AS table_name,
       CAST(json_extract_string(e.value, '$.cutoff') AS DATE) AS cutoff
FROM audit.purges AS p, json_each(p.rows) AS e
WHERE p.applied;

CREATE VIEW audit.rejected_rows AS
WITH removed AS (
    SELECT q.delivery_date, q.source, q._file, q._row, min(r.removed_on) AS removed_on
    FROM audit.quarantine AS q
    JOIN audit.retention_removals AS r
      ON r.table_name = 'restricted.rejected_rows' AND q.delivery_date < r.cutoff
    GROUP BY ALL
)
SELECT q.run_id, q.delivery_date, q.source, q._file, q._row, q.reasons, q.row_hash, q.quarantined_at,
       v.reasons AS reasons_as_delivered,
       v.record,
       CASE
           WHEN v.record IS NOT NULL THEN NULL
           WHEN m.removed_on IS NOT NULL THEN 'values removed under retention on ' || strftime(m.removed_on, '%Y-%m-%d')
           ELSE 'values removed under retention'
       END AS values_note
FROM audit.quarantine AS q
LEFT JOIN restricted.rejected_rows AS v
  ON v.delivery_date = q.delivery_date AND v.source = q.source AND v._file = q._file AND v._row = q._row
 AND v.row_hash IS NOT DISTINCT FROM q.row_hash
LEFT JOIN removed AS m
  ON m.delivery_date = q.delivery_date AND m.source = q.source AND m._file = q._file AND m._row = q._row;
