-- Whether a source has ever been delivered on or before a date (its raw table bound as a
-- value): a partner not yet delivering is absent from the list, and the report says so.
SELECT count(*) > 0 AS delivered FROM query_table($raw_table) WHERE delivery_date <= $as_of
