-- A night's pending rows are kept only until they are published. Until now every night's
-- pending flags, list, notifications and evidence stayed beside the marts they had been
-- copied into: a second full copy of each night's lists, read by nothing.
--
-- linked.pending_lists says which list dates are flagged and not yet published, and by
-- which run. Publishing a list date moves its pending rows into the marts and deletes them
-- with the date's entry here, in one transaction; a publish retried after that finds the
-- date published by its own run and leaves it as it is (it does not publish an empty list).

CREATE TABLE linked.pending_lists (
    list_date   DATE NOT NULL,
    run_id      VARCHAR NOT NULL,
    flagged_at  TIMESTAMPTZ NOT NULL
);

-- Rows a run already published are the marts' rows: they go. Rows still waiting (a night
-- whose publish failed) stay, and publishing them works as it did.
DELETE FROM linked.pending_child_flags AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_mash_list AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_school_notifications AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_unlocated_suspects AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_contact_candidates AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_consultations_to_revisit AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
DELETE FROM linked.pending_flag_evidence AS p WHERE EXISTS
    (SELECT 1 FROM audit.publications AS a WHERE a.list_date = p.list_date AND a.run_id = p.run_id);
