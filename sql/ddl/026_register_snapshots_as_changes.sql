-- Store a register's staged snapshot once per distinct row, not once per night. A register
-- is delivered whole every night and changes in a few hundred rows, yet every night kept a
-- full copy of it: half of what an ordinary night added to the warehouse. From here:
--
-- * staging.<register>_snapshot_rows holds each distinct staged row once (row_id and every
--   staged column but the four that belong to one delivery);
-- * staging.<register>_snapshot_members says which rows each night's snapshot held, and
--   where they were delivered: snapshot_date, run_id, _file, _row and the row_id;
-- * staging.<register>_snapshots becomes a view joining the two, with the columns it had,
--   so every query of a snapshot reads exactly what it read before.
--
-- The copies are moved by pipeline/publish/warehouse.py right after this file runs, in the
-- same transaction, and proven identical before they go.

ALTER TABLE staging.school_census_snapshots RENAME TO school_census_snapshots_whole;
ALTER TABLE staging.health_register_snapshots RENAME TO health_register_snapshots_whole;
ALTER TABLE staging.early_years_snapshots RENAME TO early_years_snapshots_whole;
ALTER TABLE staging.social_care_snapshots RENAME TO social_care_snapshots_whole;
