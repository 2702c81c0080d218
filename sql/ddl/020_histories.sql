-- Store changes, not copies. Until now every night appended a full copy of what linkage
-- produced (linked.*) and of the night's link decisions (audit.link_decisions), although
-- a night changes a small part of either. From here:
--
-- * each linked.<table> is kept once per row in linked.<table>_history, with the nights it
--   held: valid_from (the first linkage night it held on) and valid_to (the first night it
--   no longer held, NULL while it still holds). linked.link_nights lists the nights linkage
--   wrote, and linked.<table> becomes a view of every such night, with the columns it had,
--   so "as of D" queries read exactly what they read before.
-- * audit stays append-only, so link decisions are kept as per-night changes:
--   audit.link_decision_changes says, per scored pair, on which night its decisions changed
--   and to what (or that it has none); audit.link_decision_nights records every run that recorded a night's
--   decisions; audit.link_decisions becomes a view giving each night's decisions as they
--   stood. Closing a decision is a new row, never an update (docs/adr/0008-*.md).
--
-- The per-night copies are moved into the histories by pipeline/publish/warehouse.py right after
-- this file runs, in the same transaction, and proven identical before the copies go.

ALTER TABLE linked.child_xref RENAME TO child_xref_per_night;
ALTER TABLE linked.children RENAME TO children_per_night;
ALTER TABLE linked.households RENAME TO households_per_night;
ALTER TABLE linked.person_links RENAME TO person_links_per_night;
ALTER TABLE linked.incident_households RENAME TO incident_households_per_night;
ALTER TABLE linked.review_queue RENAME TO review_queue_per_night;
ALTER TABLE audit.link_decisions RENAME TO link_decisions_per_night;

CREATE TABLE linked.link_nights (
    as_of  DATE NOT NULL
);

CREATE TABLE linked.child_xref_history (
    valid_from  DATE NOT NULL,
    valid_to    DATE,
    record_id   VARCHAR NOT NULL,
    child_id    VARCHAR NOT NULL
);

CREATE TABLE linked.children_history (
    valid_from           DATE NOT NULL,
    valid_to             DATE,
    child_id             VARCHAR NOT NULL,
    household_id         VARCHAR,
    forename             VARCHAR,
    surname              VARCHAR,
    dob                  DATE,
    nhs_number           VARCHAR,
    upn                  VARCHAR,
    postcode             VARCHAR,
    address              VARCHAR,
    sources              VARCHAR[],
    school_urn           VARCHAR,
    school_name          VARCHAR,
    year_group           VARCHAR,
    gp_practice_code     VARCHAR,
    health_visitor_team  VARCHAR
);

CREATE TABLE linked.households_history (
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    household_id   VARCHAR NOT NULL,
    household_key  VARCHAR NOT NULL,
    address        VARCHAR,
    postcode       VARCHAR,
    uprn           VARCHAR
);

CREATE TABLE linked.person_links_history (
    valid_from        DATE NOT NULL,
    valid_to          DATE,
    incident_id       VARCHAR NOT NULL,
    person_ref        VARCHAR NOT NULL,
    person_id         VARCHAR,
    role              VARCHAR,
    household_id      VARCHAR,
    child_id          VARCHAR,
    link_probability  DOUBLE
);

CREATE TABLE linked.incident_households_history (
    valid_from    DATE NOT NULL,
    valid_to      DATE,
    incident_id   VARCHAR NOT NULL,
    household_id  VARCHAR NOT NULL,
    role          VARCHAR,
    person_ref    VARCHAR,
    basis         VARCHAR NOT NULL
);

CREATE TABLE linked.review_queue_history (
    valid_from   DATE NOT NULL,
    valid_to     DATE,
    link_type    VARCHAR NOT NULL,
    left_id      VARCHAR NOT NULL,
    right_id     VARCHAR NOT NULL,
    probability  DOUBLE,
    scores       VARCHAR,
    reason       VARCHAR
);

-- A row holds on night D when valid_from <= D < valid_to (valid_to NULL: still holds).
CREATE VIEW linked.child_xref AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.child_xref_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

CREATE VIEW linked.children AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.children_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

CREATE VIEW linked.households AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.households_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

CREATE VIEW linked.person_links AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.person_links_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

CREATE VIEW linked.incident_households AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.incident_households_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

CREATE VIEW linked.review_queue AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.review_queue_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');

-- One row per run that recorded a night's decisions (a rerun adds one). The night's first
-- run is the run_id a decision carried over from an earlier night shows on that night.
CREATE TABLE audit.link_decision_nights (
    as_of        DATE NOT NULL,
    run_id       VARCHAR NOT NULL,
    seq          BIGINT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Changes are kept per scored pair (link_type, left_id, right_id). Each change is a batch
-- (as_of, seq): the 'added' rows are the pair's decisions from that night on (a pair whose
-- weight moved gets one new row); a 'removed' row says the pair has none. On a night, a
-- pair's decisions are the 'added' rows of its latest batch on or before that night.
CREATE TABLE audit.link_decision_changes (
    seq           BIGINT NOT NULL,
    run_id        VARCHAR NOT NULL,
    as_of         DATE NOT NULL,
    change        VARCHAR NOT NULL,
    link_type     VARCHAR NOT NULL,
    left_id       VARCHAR NOT NULL,
    right_id      VARCHAR NOT NULL,
    scores        JSON,
    match_weight  DOUBLE,
    probability   DOUBLE,
    decision      VARCHAR NOT NULL,
    reason        VARCHAR
);

CREATE VIEW audit.link_decisions AS
WITH nights AS (
    SELECT as_of, arg_min(run_id, seq) AS first_run
    FROM audit.link_decision_nights
    GROUP BY as_of
),
standing AS (
    SELECT n.as_of, n.first_run, c.as_of AS changed_on, c.run_id, c.change, c.link_type,
           c.left_id, c.right_id, c.scores, c.match_weight, c.probability, c.decision, c.reason
    FROM nights AS n
    JOIN audit.link_decision_changes AS c ON c.as_of <= n.as_of
    QUALIFY rank() OVER (
        PARTITION BY n.as_of, c.link_type, c.left_id, c.right_id ORDER BY c.as_of DESC, c.seq DESC
    ) = 1
)
SELECT CASE WHEN changed_on = as_of THEN run_id ELSE first_run END AS run_id,
       as_of, link_type, left_id, right_id, scores, match_weight, probability, decision, reason
FROM standing
WHERE change = 'added';
