-- The pending tables take their columns from the tables they are published into, so a
-- mart's columns are written once (in its own DDL) and the pending copy cannot drift from
-- it. Rows already pending are kept (by column name). NOT NULL is the mart's to enforce:
-- publishing inserts into it.
-- A later migration that adds a column to one of these marts adds it to the pending
-- table too (tests/publish/test_column_contract.py fails until it does).

CREATE TABLE linked.pending_child_flags_018 AS SELECT * FROM marts.child_flags LIMIT 0;
INSERT INTO linked.pending_child_flags_018 BY NAME SELECT * FROM linked.pending_child_flags;
DROP TABLE linked.pending_child_flags;
ALTER TABLE linked.pending_child_flags_018 RENAME TO pending_child_flags;

CREATE TABLE linked.pending_mash_list_018 AS SELECT * FROM marts.mash_list LIMIT 0;
INSERT INTO linked.pending_mash_list_018 BY NAME SELECT * FROM linked.pending_mash_list;
DROP TABLE linked.pending_mash_list;
ALTER TABLE linked.pending_mash_list_018 RENAME TO pending_mash_list;

CREATE TABLE linked.pending_school_notifications_018 AS SELECT * FROM marts.school_notifications LIMIT 0;
INSERT INTO linked.pending_school_notifications_018 BY NAME SELECT * FROM linked.pending_school_notifications;
DROP TABLE linked.pending_school_notifications;
ALTER TABLE linked.pending_school_notifications_018 RENAME TO pending_school_notifications;

CREATE TABLE linked.pending_unlocated_suspects_018 AS SELECT * FROM marts.unlocated_suspects LIMIT 0;
INSERT INTO linked.pending_unlocated_suspects_018 BY NAME SELECT * FROM linked.pending_unlocated_suspects;
DROP TABLE linked.pending_unlocated_suspects;
ALTER TABLE linked.pending_unlocated_suspects_018 RENAME TO pending_unlocated_suspects;

CREATE TABLE linked.pending_flag_evidence_018 AS SELECT * FROM audit.flag_evidence LIMIT 0;
INSERT INTO linked.pending_flag_evidence_018 BY NAME SELECT * FROM linked.pending_flag_evidence;
DROP TABLE linked.pending_flag_evidence;
ALTER TABLE linked.pending_flag_evidence_018 RENAME TO pending_flag_evidence;
