-- The values a child's records lacked on a date because they were unusable as delivered
-- (audit.child_withheld_fields): which field, which delivery, file and row, and why.
SELECT record_id, source, delivery_date, _file, _row, column_name, rule, reason
FROM audit.child_withheld_fields
WHERE as_of = $as_of AND child_id = $child_id
ORDER BY record_id, column_name, reason
