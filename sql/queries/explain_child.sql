-- The child as linkage saw it on a date.
SELECT * FROM linked.children WHERE as_of = $as_of AND child_id = $child_id
