-- audit: append-only. The pipeline inserts and never updates or deletes (tests prove it).
-- Where a rerun of a date would produce identical evidence again, the insert skips rows
-- already present, so a rerun adds a run row, not duplicate data.

-- One row when a run starts and one when it ends; audit.runs (a view) shows the latest.
CREATE TABLE audit.run_log (
    run_id             VARCHAR NOT NULL,
    logical_date       DATE NOT NULL,
    event              VARCHAR NOT NULL,      -- started | succeeded | failed | abandoned
    event_at           TIMESTAMPTZ NOT NULL,
    trigger            VARCHAR,               -- cli | airflow | demo | test
    package_version    VARCHAR,
    git_commit         VARCHAR,
    rules_version      VARCHAR,
    config             JSON,
    input_snapshots    JSON,                  -- per source: file, format, rows, snapshot date, age in days
    rows_read          JSON,                  -- per source: rows delivered
    rows_quarantined   JSON,
    message            VARCHAR                -- failure reason, for failed runs
);

CREATE TABLE audit.run_stages (
    run_id       VARCHAR NOT NULL,
    stage        VARCHAR NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    seconds      DOUBLE NOT NULL,
    rows_in      BIGINT,
    rows_out     BIGINT,
    detail       JSON
);

CREATE TABLE audit.quarantine (
    run_id          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    source          VARCHAR NOT NULL,
    _file           VARCHAR NOT NULL,
    _row            BIGINT NOT NULL,
    reasons         VARCHAR[] NOT NULL,
    record          JSON NOT NULL,            -- original text of every column, verbatim
    quarantined_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE audit.dq_results (
    run_id            VARCHAR NOT NULL,
    delivery_date     DATE NOT NULL,
    source            VARCHAR NOT NULL,
    suite             VARCHAR NOT NULL,
    expectation       VARCHAR NOT NULL,
    column_name       VARCHAR,
    success           BOOLEAN NOT NULL,
    element_count     BIGINT,
    unexpected_count  BIGINT,
    details           JSON,
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE audit.link_decisions (
    run_id        VARCHAR NOT NULL,
    as_of         DATE NOT NULL,
    link_type     VARCHAR NOT NULL,
    left_id       VARCHAR NOT NULL,
    right_id      VARCHAR NOT NULL,
    scores        JSON,
    match_weight  DOUBLE,
    probability   DOUBLE,
    decision      VARCHAR NOT NULL
);

CREATE TABLE audit.review_decisions (
    decided_at  TIMESTAMPTZ NOT NULL,
    decided_by  VARCHAR NOT NULL,
    left_id     VARCHAR NOT NULL,
    right_id    VARCHAR NOT NULL,
    decision    VARCHAR NOT NULL,             -- match | nonmatch
    note        VARCHAR
);

CREATE TABLE audit.coordinator_decisions (
    household_id  VARCHAR NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL,
    decided_by    VARCHAR NOT NULL,
    priority      INTEGER,
    risk_level    VARCHAR,
    reason        VARCHAR NOT NULL
);

CREATE TABLE audit.flag_evidence (
    run_id          VARCHAR NOT NULL,
    list_date       DATE NOT NULL,
    child_id        VARCHAR NOT NULL,
    rule_id         VARCHAR NOT NULL,
    rules_version   VARCHAR NOT NULL,
    incident_ids    VARCHAR[],
    household_id    VARCHAR,
    source_records  VARCHAR[],
    detail          VARCHAR
);

CREATE TABLE audit.publications (
    list_date     DATE NOT NULL,
    run_id        VARCHAR NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL,
    child_flags   BIGINT NOT NULL,
    mash_list     BIGINT NOT NULL,
    school_notifications BIGINT NOT NULL
);

CREATE TABLE audit.access_log (
    accessed_at  TIMESTAMPTZ NOT NULL,
    who       VARCHAR NOT NULL,
    command   VARCHAR NOT NULL,
    subject   VARCHAR,
    detail    VARCHAR
);

CREATE VIEW audit.runs AS
WITH started AS (
    SELECT * FROM audit.run_log WHERE event = 'started'
), ended AS (
    -- A stage retried by Airflow may record 'failed' and later 'succeeded' for one run:
    -- the latest end event is the run's status.
    SELECT * FROM audit.run_log WHERE event IN ('succeeded', 'failed', 'abandoned')
    QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY event_at DESC) = 1
)
SELECT
    s.run_id,
    s.logical_date,
    s.event_at AS started_at,
    e.event_at AS ended_at,
    coalesce(e.event, 'running') AS status,
    s.trigger,
    s.package_version,
    s.git_commit,
    coalesce(e.rules_version, s.rules_version) AS rules_version,
    s.config,
    e.input_snapshots,
    e.rows_read,
    e.rows_quarantined,
    e.message,
    date_diff('millisecond', s.event_at, e.event_at) / 1000.0 AS seconds
FROM started AS s
LEFT JOIN ended AS e USING (run_id);
