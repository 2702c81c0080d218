-- outputs-v1 extended (never renamed) for Case S: children known to an early-years setting
-- or to social care, the MASH's own contacts on the list, and the discussion frame.

-- The child's early-years setting and social-care involvement, as the latest snapshots say.
ALTER TABLE linked.children_history ADD COLUMN provider_urn VARCHAR;
ALTER TABLE linked.children_history ADD COLUMN provider_name VARCHAR;
ALTER TABLE linked.children_history ADD COLUMN case_ref VARCHAR;
ALTER TABLE linked.children_history ADD COLUMN social_care_status VARCHAR;
ALTER TABLE linked.children_history ADD COLUMN social_care_since DATE;
ALTER TABLE linked.children_history ADD COLUMN social_care_team VARCHAR;
-- Every spelling and date of birth the child's records give, for a caller's "Noah, three".
ALTER TABLE linked.children_history ADD COLUMN known_forenames VARCHAR[] DEFAULT [];
ALTER TABLE linked.children_history ADD COLUMN known_dobs DATE[] DEFAULT [];
-- linked.children is a view of its history (valid-from/valid-to): made again so it shows
-- the new columns.
CREATE OR REPLACE VIEW linked.children AS
SELECT n.as_of, h.* EXCLUDE (valid_from, valid_to)
FROM linked.link_nights AS n
JOIN linked.children_history AS h
  ON h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31');
ALTER TABLE marts.child_index ADD COLUMN provider_urn VARCHAR;
ALTER TABLE marts.child_index ADD COLUMN provider_name VARCHAR;
ALTER TABLE marts.child_index ADD COLUMN case_ref VARCHAR;
ALTER TABLE marts.child_index ADD COLUMN social_care_status VARCHAR;
ALTER TABLE marts.child_index ADD COLUMN social_care_since DATE;
ALTER TABLE marts.child_index ADD COLUMN social_care_team VARCHAR;

-- child_flags: the setting, the social-care status in words, and the MASH contacts about
-- the child (or naming it as a candidate) in the contact window.
ALTER TABLE linked.pending_child_flags ADD COLUMN provider_urn VARCHAR;
ALTER TABLE linked.pending_child_flags ADD COLUMN social_care VARCHAR;
ALTER TABLE linked.pending_child_flags ADD COLUMN contact_ids VARCHAR[] DEFAULT [];
ALTER TABLE marts.child_flags ADD COLUMN provider_urn VARCHAR;
ALTER TABLE marts.child_flags ADD COLUMN social_care VARCHAR;
ALTER TABLE marts.child_flags ADD COLUMN contact_ids VARCHAR[] DEFAULT [];

-- mash_list: the earlier contacts (one line each), social-care status of its children, and
-- the Signs of Safety frame: worries, what is working well (for the meeting), what needs to
-- happen, and professional-curiosity prompts.
ALTER TABLE linked.pending_mash_list ADD COLUMN contact_ids VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN contacts VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN social_care VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN worries VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN working_well VARCHAR;
ALTER TABLE linked.pending_mash_list ADD COLUMN next_steps VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN curiosity_prompts VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN contact_ids VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN contacts VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN social_care VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN worries VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN working_well VARCHAR;
ALTER TABLE marts.mash_list ADD COLUMN next_steps VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN curiosity_prompts VARCHAR[] DEFAULT [];

-- Notifications go to early-years settings as to schools (Operation Encompass extended):
-- school_urn then holds the setting's Ofsted URN and setting_type says which it is.
ALTER TABLE linked.pending_school_notifications ADD COLUMN setting_type VARCHAR DEFAULT 'school';
ALTER TABLE marts.school_notifications ADD COLUMN setting_type VARCHAR DEFAULT 'school';

-- Which children an anonymous consultation may be about: never merged into a child; one row
-- per (contact, candidate) with how well the candidate fits.
CREATE TABLE linked.pending_contact_candidates (
    list_date       DATE NOT NULL,
    run_id          VARCHAR NOT NULL,
    contact_id      VARCHAR NOT NULL,
    child_id        VARCHAR NOT NULL,
    household_id    VARCHAR,
    matched_through VARCHAR NOT NULL,
    fit_score       DOUBLE NOT NULL,
    fit             VARCHAR NOT NULL
);
CREATE TABLE marts.contact_candidates (
    list_date       DATE NOT NULL,
    contact_id      VARCHAR NOT NULL,
    child_id        VARCHAR NOT NULL,
    household_id    VARCHAR,
    matched_through VARCHAR NOT NULL,   -- early_years:<urn> | school:<urn> | gp:<code> | named
    fit_score       DOUBLE NOT NULL,    -- 0..1
    fit             VARCHAR NOT NULL,   -- in words: "age 3 fits; first name matches"
    run_id          VARCHAR NOT NULL
);

-- The daily "consultations to revisit": a contact whose caller stated a higher level than the
-- MASH recorded, or a domestic-abuse consultation closed with advice, on the night it arrives.
CREATE TABLE linked.pending_consultations_to_revisit (
    list_date           DATE NOT NULL,
    run_id              VARCHAR NOT NULL,
    contact_id          VARCHAR NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    contact_type        VARCHAR NOT NULL,
    anonymous           VARCHAR NOT NULL,
    caller_role         VARCHAR NOT NULL,
    caller_org          VARCHAR,
    concern_category    VARCHAR NOT NULL,
    level_stated        VARCHAR,
    level_recorded      VARCHAR NOT NULL,
    outcome             VARCHAR NOT NULL,
    why                 VARCHAR[] NOT NULL,
    candidate_child_ids VARCHAR[] NOT NULL
);
CREATE TABLE marts.consultations_to_revisit (
    list_date           DATE NOT NULL,
    contact_id          VARCHAR NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    contact_type        VARCHAR NOT NULL,
    anonymous           VARCHAR NOT NULL,
    caller_role         VARCHAR NOT NULL,
    caller_org          VARCHAR,
    concern_category    VARCHAR NOT NULL,
    level_stated        VARCHAR,
    level_recorded      VARCHAR NOT NULL,
    outcome             VARCHAR NOT NULL,
    why                 VARCHAR[] NOT NULL,
    candidate_child_ids VARCHAR[] NOT NULL,
    run_id              VARCHAR NOT NULL
);
