-- Store a register's raw delivery once per distinct line, not once per night, as its staged
-- snapshots are (026): raw.<register>_rows holds each distinct delivered line once (its text
-- columns, extra and _raw_line); raw.<register>_members says which lines each night's
-- delivery held: run_id, delivery_date, _file, _row, loaded_at and the row_id; and
-- raw.<register> becomes a view joining the two, with the columns the table had.
--
-- The copies are moved by pipeline/publish/warehouse.py right after this file runs, in the
-- same transaction, and proven identical before they go.

ALTER TABLE raw.school_census RENAME TO school_census_whole;
ALTER TABLE raw.health_register RENAME TO health_register_whole;
ALTER TABLE raw.early_years RENAME TO early_years_whole;
ALTER TABLE raw.social_care RENAME TO social_care_whole;
