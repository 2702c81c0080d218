-- raw: every delivered row exactly as text, whether or not it passed validation.
-- `extra` holds columns outside the contract as a JSON object; `_raw_line` holds a line the
-- CSV reader could not split into the contract's columns (truncated / too many fields).

CREATE TABLE raw.police_incidents (
    run_id         VARCHAR NOT NULL,
    delivery_date  DATE NOT NULL,
    _file          VARCHAR NOT NULL,
    _row           BIGINT NOT NULL,
    incident_id    VARCHAR,
    reported_at    VARCHAR,
    updated_at     VARCHAR,
    dash_risk      VARCHAR,
    children_present VARCHAR,
    address_line1  VARCHAR,
    offence        VARCHAR,
    address_line2  VARCHAR,
    town           VARCHAR,
    postcode       VARCHAR,
    uprn           VARCHAR,
    extra          VARCHAR,
    _raw_line      VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE raw.police_persons (
    run_id         VARCHAR NOT NULL,
    delivery_date  DATE NOT NULL,
    _file          VARCHAR NOT NULL,
    _row           BIGINT NOT NULL,
    incident_id    VARCHAR,
    person_ref     VARCHAR,
    role           VARCHAR,
    forename       VARCHAR,
    surname        VARCHAR,
    dob            VARCHAR,
    gender         VARCHAR,
    relationship_to_victim VARCHAR,
    address_line1  VARCHAR,
    address_line2  VARCHAR,
    town           VARCHAR,
    postcode       VARCHAR,
    uprn           VARCHAR,
    extra          VARCHAR,
    _raw_line      VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE raw.school_census (
    run_id         VARCHAR NOT NULL,
    delivery_date  DATE NOT NULL,
    _file          VARCHAR NOT NULL,
    _row           BIGINT NOT NULL,
    upn            VARCHAR,
    forename       VARCHAR,
    surname        VARCHAR,
    dob            VARCHAR,
    address_line1  VARCHAR,
    postcode       VARCHAR,
    school_urn     VARCHAR,
    school_name    VARCHAR,
    gender         VARCHAR,
    address_line2  VARCHAR,
    town           VARCHAR,
    uprn           VARCHAR,
    year_group     VARCHAR,
    extra          VARCHAR,
    _raw_line      VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE raw.health_register (
    run_id         VARCHAR NOT NULL,
    delivery_date  DATE NOT NULL,
    _file          VARCHAR NOT NULL,
    _row           BIGINT NOT NULL,
    nhs_number     VARCHAR,
    forename       VARCHAR,
    surname        VARCHAR,
    dob            VARCHAR,
    address_line1  VARCHAR,
    postcode       VARCHAR,
    gp_practice_code VARCHAR,
    gender         VARCHAR,
    address_line2  VARCHAR,
    town           VARCHAR,
    uprn           VARCHAR,
    health_visitor_team VARCHAR,
    extra          VARCHAR,
    _raw_line      VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
