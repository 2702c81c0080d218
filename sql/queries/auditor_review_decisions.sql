-- Auditor extract: reviewers' decisions; the free-text note is left out.
SELECT decided_at, decided_by, left_id, right_id, decision
FROM audit.review_decisions
ORDER BY decided_at
