-- A force serves several local authorities. An incident whose addresses lie in more than one
-- of them is sent to each; every authority's list must say who else has it, so that two
-- MASHs do not each assume the other is acting (or both act without talking).
CREATE TABLE IF NOT EXISTS marts.shared_incidents (
    list_date DATE NOT NULL,
    incident_id VARCHAR NOT NULL,
    other_authorities VARCHAR NOT NULL,  -- "Name (E06000001); Other (E06000002)"
    run_id VARCHAR NOT NULL
);
