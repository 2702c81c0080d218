-- Store the flag evidence once per distinct row, not once per night. Every night recorded
-- the evidence of every flagged child again (the same rule on the same incidents for the
-- same child, night after night), the largest table an ordinary night still copied whole.
-- From here, as for registers (ADR 0010):
--
-- * audit.flag_evidence_rows holds each distinct evidence row once (row_id and every column
--   but the run and list date);
-- * audit.flag_evidence_members says which rows each list date's run recorded;
-- * audit.flag_evidence becomes a view joining the two, with the columns it had, so the
--   auditor views, `hearth explain` and every query read exactly what they read before.
--
-- Both tables are only ever appended to: the trail stays append-only. The rows are moved by
-- pipeline/publish/warehouse.py right after this file runs, in the same transaction, and
-- proven identical before the per-night table goes.

ALTER TABLE audit.flag_evidence RENAME TO flag_evidence_whole;
