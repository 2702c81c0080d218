SELECT * EXCLUDE (as_of) FROM linked.children WHERE as_of = $as_of
