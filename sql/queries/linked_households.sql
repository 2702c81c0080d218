SELECT * EXCLUDE (as_of) FROM linked.households WHERE as_of = $as_of
