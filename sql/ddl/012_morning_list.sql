-- outputs-v1 extended (never renamed): what a coordinator needs to triage from the list
-- itself. Existing rows get NULL / empty lists, which is what an older list said.
--
-- mash_list: a stable identity for every row (a child with no known home has no household
-- id, so it is keyed on the child), why the row is listed today in words, a one-line history,
-- who the suspect is in police's words, and how each listed incident reaches the household
-- (so rows sharing an incident can point at each other).
ALTER TABLE linked.pending_mash_list ADD COLUMN list_key VARCHAR;
ALTER TABLE linked.pending_mash_list ADD COLUMN badge VARCHAR;
ALTER TABLE linked.pending_mash_list ADD COLUMN why_listed VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN history VARCHAR;
ALTER TABLE linked.pending_mash_list ADD COLUMN last_listed_on DATE;
ALTER TABLE linked.pending_mash_list ADD COLUMN suspect_relationships VARCHAR[] DEFAULT [];
ALTER TABLE linked.pending_mash_list ADD COLUMN incident_reach VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN list_key VARCHAR;
ALTER TABLE marts.mash_list ADD COLUMN badge VARCHAR;
ALTER TABLE marts.mash_list ADD COLUMN why_listed VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN history VARCHAR;
ALTER TABLE marts.mash_list ADD COLUMN last_listed_on DATE;
ALTER TABLE marts.mash_list ADD COLUMN suspect_relationships VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN incident_reach VARCHAR[] DEFAULT [];

-- child_flags: why each child has its level, in words, and the names a coordinator
-- recognises (school, health-visiting team) beside the codes.
ALTER TABLE linked.pending_child_flags ADD COLUMN level_reason VARCHAR;
ALTER TABLE linked.pending_child_flags ADD COLUMN school_name VARCHAR;
ALTER TABLE linked.pending_child_flags ADD COLUMN health_visitor_team VARCHAR;
ALTER TABLE marts.child_flags ADD COLUMN level_reason VARCHAR;
ALTER TABLE marts.child_flags ADD COLUMN school_name VARCHAR;
ALTER TABLE marts.child_flags ADD COLUMN health_visitor_team VARCHAR;

-- school_notifications: a notice whose notify_by had already passed when the list was
-- published (police delivered after the school day started) is late, and says so.
ALTER TABLE linked.pending_school_notifications ADD COLUMN late BOOLEAN DEFAULT false;
ALTER TABLE marts.school_notifications ADD COLUMN late BOOLEAN DEFAULT false;
