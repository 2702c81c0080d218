SELECT * EXCLUDE (as_of) FROM linked.person_links WHERE as_of = $as_of
