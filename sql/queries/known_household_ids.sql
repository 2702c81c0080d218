-- Which of the household ids asked for hearth has ever formed (any night kept).
SELECT DISTINCT household_id
FROM linked.households_history
WHERE list_contains($ids::VARCHAR[], household_id)
ORDER BY household_id
