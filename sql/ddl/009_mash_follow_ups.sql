-- outputs-v1 extended (never renamed): the MASH list carries follow-ups, questions the
-- data cannot settle (a suspect whose home police never recorded). Existing rows get an
-- empty list, which is what they would have had.
ALTER TABLE linked.pending_mash_list ADD COLUMN follow_ups VARCHAR[] DEFAULT [];
ALTER TABLE marts.mash_list ADD COLUMN follow_ups VARCHAR[] DEFAULT [];
