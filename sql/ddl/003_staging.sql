-- staging: typed rows that passed validation, kept by delivery date so that "the state as
-- of date D" is a query. That is what lets a rerun or backfill of any night reproduce it.

CREATE TABLE staging.police_incident_versions (
    delivery_date     DATE NOT NULL,
    run_id            VARCHAR NOT NULL,
    incident_id       VARCHAR NOT NULL,
    reported_at       TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    dash_risk         VARCHAR NOT NULL,
    children_present  VARCHAR NOT NULL,
    offence           VARCHAR,
    address_line1     VARCHAR,
    address_line2     VARCHAR,
    town              VARCHAR,
    postcode          VARCHAR,
    uprn              VARCHAR,
    _file             VARCHAR NOT NULL,
    _row              BIGINT NOT NULL
);

CREATE TABLE staging.police_person_versions (
    delivery_date           DATE NOT NULL,
    run_id                  VARCHAR NOT NULL,
    incident_id             VARCHAR NOT NULL,
    person_ref              VARCHAR NOT NULL,
    role                    VARCHAR NOT NULL,
    forename                VARCHAR,
    surname                 VARCHAR,
    dob                     DATE,
    gender                  VARCHAR,
    relationship_to_victim  VARCHAR,
    address_line1           VARCHAR,
    address_line2           VARCHAR,
    town                    VARCHAR,
    postcode                VARCHAR,
    uprn                    VARCHAR,
    _file                   VARCHAR NOT NULL,
    _row                    BIGINT NOT NULL
);

CREATE TABLE staging.school_census_snapshots (
    snapshot_date   DATE NOT NULL,
    run_id          VARCHAR NOT NULL,
    upn             VARCHAR NOT NULL,
    forename        VARCHAR,
    surname         VARCHAR,
    dob             DATE,
    gender          VARCHAR,
    address_line1   VARCHAR,
    address_line2   VARCHAR,
    town            VARCHAR,
    postcode        VARCHAR,
    uprn            VARCHAR,
    school_urn      VARCHAR,
    school_name     VARCHAR,
    year_group      VARCHAR,
    _file           VARCHAR NOT NULL,
    _row            BIGINT NOT NULL
);

CREATE TABLE staging.health_register_snapshots (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    nhs_number           VARCHAR NOT NULL,
    forename             VARCHAR,
    surname              VARCHAR,
    dob                  DATE,
    gender               VARCHAR,
    address_line1        VARCHAR,
    address_line2        VARCHAR,
    town                 VARCHAR,
    postcode             VARCHAR,
    uprn                 VARCHAR,
    gp_practice_code     VARCHAR,
    health_visitor_team  VARCHAR,
    _file                VARCHAR NOT NULL,
    _row                 BIGINT NOT NULL
);
