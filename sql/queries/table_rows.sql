-- Every row of one hearth table ($table is a name from warehouse.TABLES, bound as a value
-- through query_table), for digests that compare two warehouses.
SELECT * FROM query_table($table)
