-- Which child each register record was linked into on one night (accuracy against truth).
SELECT record_id, child_id FROM linked.child_xref WHERE as_of = $as_of
