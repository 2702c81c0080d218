-- Nothing silently lost: a night that processed what arrived but has something to say
-- (a file cut in transit, a landing folder that is not a date, versions whose order the
-- clock change hides) records it; every retention purge is recorded; an incident version
-- whose local time fell in the repeated October hour says so.

-- Warnings of a run, on its end event: a JSON list of {kind, source, message}.
ALTER TABLE audit.run_log ADD COLUMN warnings JSON;

-- A naive local updated_at in the hour repeated when the clocks go back: staged as the
-- earlier (BST) instant, but it may be an hour later, so its order against a version up
-- to an hour earlier cannot be decided (sql/queries/current_incidents.sql).
ALTER TABLE staging.police_incident_versions ADD COLUMN updated_at_ambiguous BOOLEAN NOT NULL DEFAULT false;

-- Every retention purge, dry run or applied (append-only, like the rest of audit).
CREATE TABLE audit.purges (
    purged_at     TIMESTAMPTZ NOT NULL,
    purged_by     VARCHAR NOT NULL,
    as_of         DATE NOT NULL,             -- the purge date asked for (--date)
    applied       BOOLEAN NOT NULL,          -- false: a dry run, nothing deleted
    forced        BOOLEAN NOT NULL,          -- incidents still inside the flag window were purged
    reason        VARCHAR,                   -- required with --force
    in_window     BIGINT NOT NULL,           -- incidents inside the flag window the purge touches
    rows          JSON NOT NULL              -- per table: cutoff, rows, first and last date
);

-- audit.runs as in 006, with the warnings of the run's end event and their count.
CREATE OR REPLACE VIEW audit.runs AS
WITH started AS (
    SELECT * FROM audit.run_log WHERE event = 'started'
), ended AS (
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
    date_diff('millisecond', s.event_at, e.event_at) / 1000.0 AS seconds,
    coalesce(e.warnings, '[]'::JSON) AS warnings,
    coalesce(json_array_length(e.warnings), 0) AS warning_count
FROM started AS s
LEFT JOIN ended AS e USING (run_id);
