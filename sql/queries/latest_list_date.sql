SELECT max(list_date) AS list_date FROM audit.publications
