-- Rejected rows whose values the restricted layer still holds but whose keyed hash is not
-- yet recorded (rejected on a night without the key, or moved there by migration 019).
SELECT DISTINCT delivery_date, source, _file, _row, record
FROM restricted.rejected_rows
WHERE row_hash IS NULL
