-- The children flagged for domestic abuse on one list date (accuracy against the truth, whose
-- at-risk children are the born children of DA households). A child listed by MASH contacts
-- alone (REPEATED_CONCERN) is flagged for another reason, and an unborn child known to social
-- care (pre_birth, no date of birth) is no person of the truth: neither is scored.
SELECT DISTINCT f.child_id
FROM marts.child_flags AS f
LEFT JOIN linked.children AS c ON c.child_id = f.child_id AND c.as_of = f.list_date
WHERE f.list_date = $list_date AND list_contains(f.reasons, 'DA_IN_HOUSEHOLD')
  AND NOT (coalesce(c.social_care_status = 'pre_birth', false) AND c.dob IS NULL)
