-- The police nominal id cross-reference left by the latest linkage before a date: which
-- person_id each police record had, so an adult's id stays stable night after night. The
-- latest linkage night that held any nominal (a night that linked none leaves the ids of
-- the night before it). Nights are read from linked.link_nights and the history directly:
-- taking the latest night from the view would expand every night's rows first.
WITH held AS (
    SELECT max(n.as_of) AS as_of
    FROM linked.link_nights AS n
    WHERE n.as_of < $before
      AND EXISTS (
          SELECT 1 FROM linked.person_xref_history AS h
          WHERE h.valid_from <= n.as_of AND n.as_of < coalesce(h.valid_to, DATE '9999-12-31')
      )
)
SELECT h.record_id, h.person_id
FROM linked.person_xref_history AS h, held
WHERE h.valid_from <= held.as_of AND held.as_of < coalesce(h.valid_to, DATE '9999-12-31')
