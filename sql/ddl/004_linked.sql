-- linked: what linkage produced for each date (as_of). Replaced per date, never appended
-- twice, so a rerun of a date replaces exactly that date's rows.

CREATE TABLE linked.child_xref (
    as_of      DATE NOT NULL,
    record_id  VARCHAR NOT NULL,
    child_id   VARCHAR NOT NULL
);

CREATE TABLE linked.children (
    as_of                DATE NOT NULL,
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

CREATE TABLE linked.households (
    as_of          DATE NOT NULL,
    household_id   VARCHAR NOT NULL,
    household_key  VARCHAR NOT NULL,
    address        VARCHAR,
    postcode       VARCHAR,
    uprn           VARCHAR
);

CREATE TABLE linked.person_links (
    as_of             DATE NOT NULL,
    incident_id       VARCHAR NOT NULL,
    person_ref        VARCHAR NOT NULL,
    person_id         VARCHAR,
    role              VARCHAR,
    household_id      VARCHAR,
    child_id          VARCHAR,
    link_probability  DOUBLE
);

CREATE TABLE linked.incident_households (
    as_of         DATE NOT NULL,
    incident_id   VARCHAR NOT NULL,
    household_id  VARCHAR NOT NULL,
    role          VARCHAR,
    person_ref    VARCHAR,
    basis         VARCHAR NOT NULL
);

CREATE TABLE linked.review_queue (
    as_of        DATE NOT NULL,
    link_type    VARCHAR NOT NULL,
    left_id      VARCHAR NOT NULL,
    right_id     VARCHAR NOT NULL,
    probability  DOUBLE,
    scores       VARCHAR
);

-- Flag results computed but not yet published. The publish step moves one list date from
-- here into marts inside a single transaction.
CREATE TABLE linked.pending_child_flags (
    list_date         DATE NOT NULL,
    run_id            VARCHAR NOT NULL,
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
    rules_version     VARCHAR NOT NULL
);

CREATE TABLE linked.pending_mash_list (
    list_date           DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
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
    rules_version       VARCHAR NOT NULL
);

CREATE TABLE linked.pending_school_notifications (
    list_date             DATE NOT NULL,
    run_id                VARCHAR NOT NULL,
    school_urn            VARCHAR NOT NULL,
    child_id              VARCHAR NOT NULL,
    upn                   VARCHAR,
    incident_id           VARCHAR NOT NULL,
    notify_by             TIMESTAMP NOT NULL,
    incident_reported_at  TIMESTAMP,
    child_present         VARCHAR
);

CREATE TABLE linked.pending_flag_evidence (
    list_date       DATE NOT NULL,
    run_id          VARCHAR NOT NULL,
    child_id        VARCHAR NOT NULL,
    rule_id         VARCHAR NOT NULL,
    rules_version   VARCHAR NOT NULL,
    incident_ids    VARCHAR[],
    household_id    VARCHAR,
    source_records  VARCHAR[],
    detail          VARCHAR
);
