-- The distinct values of a source's record-id columns ($columns) ever staged: the record
-- ids are built from them by the registry (sources.SourceSpec.record_id).
-- $staging_table is bound as a value (query_table).
SELECT DISTINCT COLUMNS(lambda c: list_contains($columns::VARCHAR[], c))
FROM query_table($staging_table)
