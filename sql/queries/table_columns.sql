-- Every column of every hearth table as the catalog has it, for the column-contract test.
SELECT table_schema, table_name, column_name, data_type
FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema IN ('raw', 'staging', 'linked', 'marts', 'audit')
ORDER BY table_schema, table_name, ordinal_position
