SELECT list_date, previous_list_date, change, subject_type, subject_id, household_id,
       level_before, level_after, priority
FROM audit.night_changes
ORDER BY list_date, change, subject_id
