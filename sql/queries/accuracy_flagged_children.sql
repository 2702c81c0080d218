-- The children flagged for domestic abuse on one list date (accuracy against the truth, whose
-- at-risk children are those of DA households). A child listed by MASH contacts alone
-- (REPEATED_CONCERN) is flagged for another reason the DA truth does not score.
SELECT DISTINCT child_id FROM marts.child_flags
WHERE list_date = $list_date AND list_contains(reasons, 'DA_IN_HOUSEHOLD')
