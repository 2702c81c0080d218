-- What the stored comparisons were computed with and the night of the last full re-link.
SELECT fingerprint, full_relink_on, updated_on FROM linked.comparison_cache_state
