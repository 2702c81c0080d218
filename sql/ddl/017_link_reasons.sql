-- Why a pair waits for review, or why a match the model scored was not kept (a guard, the
-- one-to-one assignment, an ambiguous best match): the reviewer and the auditor both need it.
ALTER TABLE audit.link_decisions ADD COLUMN reason VARCHAR;
ALTER TABLE linked.review_queue ADD COLUMN reason VARCHAR;
