-- Incremental linkage (docs/linkage.md): the comparison levels of every candidate pair of the
-- last linked night, under content hashes of its two records' comparison columns. A pair
-- whose two records hash the same tonight is given these levels instead of being compared
-- again; the levels are a pure function of the two records, so this is the same result.
-- One working copy (not per night): it is rebuilt in full by any full re-link and is not
-- evidence (audit.link_decisions keeps every night's scores).
CREATE TABLE linked.comparison_cache (
    left_hash         UBIGINT NOT NULL,
    right_hash        UBIGINT NOT NULL,
    dedupe            BOOLEAN NOT NULL,     -- pairs within one source (police) also compare person_ref
    forename          TINYINT NOT NULL,
    forename_sim      DOUBLE,
    surname           TINYINT NOT NULL,
    surname_sim       DOUBLE,
    names_transposed  TINYINT NOT NULL,
    dob               TINYINT NOT NULL,
    location          TINYINT NOT NULL,
    gender            TINYINT NOT NULL,
    person_ref        TINYINT
);
-- What the stored levels were computed with, and when every pair was last compared afresh.
CREATE TABLE linked.comparison_cache_state (
    fingerprint     VARCHAR NOT NULL,       -- link_incremental.cache_fingerprint()
    full_relink_on  DATE NOT NULL,
    updated_on      DATE NOT NULL
);
