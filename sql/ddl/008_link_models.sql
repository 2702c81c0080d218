-- The Fellegi–Sunter model each night's pairs were scored with: one row per model (kind of
-- comparison) and run. An auditor can recompute any pair's weight from these parameters and
-- the levels in audit.link_decisions.scores. u-probabilities are re-estimated from random
-- pairs at most every linkage.u_max_age_days (docs/linkage.md); on other nights the row
-- repeats the u of the night named in u_estimated_on and u_pairs is 0.
CREATE TABLE audit.link_models (
    run_id           VARCHAR NOT NULL,
    as_of            DATE NOT NULL,
    model            VARCHAR NOT NULL,      -- register_child | police_child_register | police_child_dedup | police_adult_dedup
    n_left           BIGINT NOT NULL,       -- records compared on each side
    n_right          BIGINT NOT NULL,
    candidate_pairs  BIGINT NOT NULL,
    u_estimated_on   DATE,
    u_pairs          BIGINT NOT NULL,       -- random pairs compared for u in this run (0: reused)
    parameters       JSON NOT NULL,         -- {"lambda": λ, "m": {comparison: [per level]}, "u": {…}}
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
