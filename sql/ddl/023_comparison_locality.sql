-- The location comparison now says whether the locality (second address line, town) agrees:
-- the stored comparisons keep that level too. Stores written before it are never read again
-- (the comparison fingerprint changed, so the next night re-links in full and rewrites them).
ALTER TABLE linked.comparison_cache ADD COLUMN locality TINYINT;
