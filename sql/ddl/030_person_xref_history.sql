-- The police nominals' person ids (linked.person_xref) kept as a valid-from/valid-to
-- history like every other linkage table (ADR 0008), not a copy per night: a night's
-- nominals keep their person ids, so each night copied tens of thousands of unchanged rows.
-- linked.person_xref becomes a view with the columns the table had, one row per linkage
-- night and nominal as before. The copies are replayed night by night into the history by
-- pipeline/publish/warehouse.py right after this file runs, in the same transaction, and
-- proven identical before they go.

ALTER TABLE linked.person_xref RENAME TO person_xref_per_night;

CREATE TABLE linked.person_xref_history (
    valid_from  DATE NOT NULL,
    valid_to    DATE,
    record_id   VARCHAR NOT NULL,
    person_id   VARCHAR NOT NULL
);

CREATE VIEW linked.person_xref AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.person_xref_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');
