-- Who acted, twice over: `decided_by` / `who` is the name a person gave with `--as` (or the
-- OS user when they gave none); `os_user` is always the account the command ran under, so
-- a name typed with `--as` can never hide who was really at the keyboard.
ALTER TABLE audit.access_log ADD COLUMN os_user VARCHAR;
ALTER TABLE audit.coordinator_decisions ADD COLUMN os_user VARCHAR;
ALTER TABLE audit.review_decisions ADD COLUMN os_user VARCHAR;
