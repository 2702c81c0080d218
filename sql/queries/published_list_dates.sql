-- Every list date a night has published, oldest first.
SELECT DISTINCT list_date FROM audit.publications ORDER BY list_date
