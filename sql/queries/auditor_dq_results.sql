SELECT run_id, delivery_date, source, suite, expectation, column_name, success, element_count,
       unexpected_count, details
FROM audit.dq_results
ORDER BY delivery_date, source, expectation
