-- The stored comparison levels of the last linked night (linked.comparison_cache).
SELECT left_hash, right_hash, dedupe, forename, forename_sim, surname, surname_sim,
       names_transposed, dob, location, locality, gender, person_ref
FROM linked.comparison_cache
