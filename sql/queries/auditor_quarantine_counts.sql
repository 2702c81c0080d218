-- Auditor extract: rejected rows counted per night, source and column (no delivered text).
SELECT delivery_date, source, column_name, sum(rows) AS rows
FROM audit.quarantine_summary
GROUP BY ALL
ORDER BY delivery_date, source, column_name
