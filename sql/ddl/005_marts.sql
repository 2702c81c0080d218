-- marts: the published interface of docs/outputs.md (outputs contract v1). Columns may be
-- added, never renamed or removed without a new contract version.

CREATE TABLE marts.child_index (
    child_id             VARCHAR NOT NULL,
    household_id         VARCHAR,
    forename             VARCHAR,
    surname              VARCHAR,
    dob                  DATE,
    nhs_number           VARCHAR,
    upn                  VARCHAR,
    postcode             VARCHAR,
    sources              VARCHAR[],
    as_of                DATE NOT NULL,
    address              VARCHAR,
    school_urn           VARCHAR,
    school_name          VARCHAR,
    year_group           VARCHAR,
    gp_practice_code     VARCHAR,
    health_visitor_team  VARCHAR
);

CREATE TABLE marts.child_flags (
    list_date         DATE NOT NULL,
    child_id          VARCHAR NOT NULL,
    household_id      VARCHAR,
    forename          VARCHAR,
    surname           VARCHAR,
    dob               DATE,
    nhs_number        VARCHAR,
    upn               VARCHAR,
    school_urn        VARCHAR,
    gp_practice_code  VARCHAR,
    risk_level        VARCHAR NOT NULL,
    reasons           VARCHAR[] NOT NULL,
    incident_ids      VARCHAR[] NOT NULL,
    status            VARCHAR NOT NULL,
    rules_version     VARCHAR NOT NULL,
    run_id            VARCHAR NOT NULL
);

CREATE TABLE marts.mash_list (
    list_date           DATE NOT NULL,
    household_id        VARCHAR,             -- NULL: a child with no formable household (ZZ99 / unknown)
    priority            INTEGER NOT NULL,
    risk_level          VARCHAR NOT NULL,
    address             VARCHAR,
    postcode            VARCHAR,
    child_ids           VARCHAR[] NOT NULL,
    incident_ids        VARCHAR[] NOT NULL,
    reasons             VARCHAR[] NOT NULL,
    agencies            VARCHAR[] NOT NULL,
    new_since_previous  BOOLEAN NOT NULL,
    due_by              TIMESTAMPTZ,
    rules_version       VARCHAR NOT NULL,
    run_id              VARCHAR NOT NULL
);

CREATE TABLE marts.school_notifications (
    list_date             DATE NOT NULL,
    school_urn            VARCHAR NOT NULL,
    child_id              VARCHAR NOT NULL,
    upn                   VARCHAR,
    incident_id           VARCHAR NOT NULL,
    notify_by             TIMESTAMP NOT NULL,
    incident_reported_at  TIMESTAMP,
    child_present         VARCHAR,
    run_id                VARCHAR NOT NULL
);
