-- Coordinator decisions made up to the end of a list date, latest per household.
SELECT household_id, decided_at, decided_by, priority, risk_level, reason
FROM audit.coordinator_decisions
WHERE CAST(decided_at AT TIME ZONE 'Europe/London' AS DATE) <= $until
QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY decided_at DESC) = 1
ORDER BY household_id
