-- The police nominal id cross-reference left by the latest linkage before a date: which
-- person_id each police record had, so an adult's id stays stable night after night.
SELECT record_id, person_id
FROM linked.person_xref
WHERE as_of = (SELECT max(as_of) FROM linked.person_xref WHERE as_of < $before)
