-- Which of the household ids asked for hearth has ever formed (any night).
SELECT DISTINCT household_id
FROM linked.households
WHERE list_contains($ids::VARCHAR[], household_id)
ORDER BY household_id
