SELECT * EXCLUDE (as_of) FROM linked.incident_households WHERE as_of = $as_of
