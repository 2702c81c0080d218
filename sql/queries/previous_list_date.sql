-- The latest list date published before a date (a date with no flagged child still counts).
SELECT max(list_date) AS list_date FROM audit.publications WHERE list_date < $before
