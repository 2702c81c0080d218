-- A new mart (outputs-v1 extended), for police: every suspect of an incident in the
-- lookback window whose home is unknown, new or not, with the MASH rows that carry him as a
-- follow-up. Published per list date with the other marts, from its pending table.
CREATE TABLE linked.pending_unlocated_suspects (
    list_date           DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    incident_id         VARCHAR NOT NULL,
    person_ref          VARCHAR NOT NULL,
    person_id           VARCHAR,
    reported_at         TIMESTAMPTZ NOT NULL,
    dash_risk           VARCHAR NOT NULL,
    listed_households   VARCHAR[] NOT NULL,
    new_since_previous  BOOLEAN NOT NULL,
    rules_version       VARCHAR NOT NULL
);

CREATE TABLE marts.unlocated_suspects (
    list_date           DATE NOT NULL,
    incident_id         VARCHAR NOT NULL,
    person_ref          VARCHAR NOT NULL,
    person_id           VARCHAR,
    reported_at         TIMESTAMPTZ NOT NULL,
    dash_risk           VARCHAR NOT NULL,
    listed_households   VARCHAR[] NOT NULL,   -- household_ids of this date's MASH rows asking about him
    new_since_previous  BOOLEAN NOT NULL,
    rules_version       VARCHAR NOT NULL,
    run_id              VARCHAR NOT NULL
);
