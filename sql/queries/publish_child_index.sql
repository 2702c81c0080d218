INSERT INTO marts.child_index BY NAME
SELECT child_id, household_id, forename, surname, dob, nhs_number, upn, postcode, sources,
       as_of, address, school_urn, school_name, year_group, gp_practice_code, health_visitor_team,
       provider_urn, provider_name, case_ref, social_care_status, social_care_since, social_care_team
FROM linked.children
WHERE as_of = $as_of
