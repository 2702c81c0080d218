-- The values a child's records lacked on a date because they were unusable as delivered
-- (audit.child_withheld_fields): which field, which delivery, file and row, and why; and,
-- once the delivery's raw rows were purged under retention, the date of that purge.
SELECT w.record_id, w.source, w.delivery_date, w._file, w._row, w.column_name, w.rule, w.reason,
       (SELECT min(r.removed_on) FROM audit.retention_removals AS r
        WHERE r.table_name = 'raw.' || w.source AND w.delivery_date < r.cutoff) AS removed_on
FROM audit.child_withheld_fields AS w
WHERE w.as_of = $as_of AND w.child_id = $child_id
ORDER BY w.record_id, w.column_name, w.reason
