-- The address conflicts of one list date: for each victim or suspect whose keyed home and
-- the incident address could not be told apart, both addresses (for the report's sentence).
SELECT
    'ADDRESS_CONFLICT:' || ih.incident_id || '/' || ih.person_ref AS follow_up,
    ih.incident_id,
    ih.person_ref,
    ih.role,
    keyed.address  AS keyed_address,
    keyed.postcode AS keyed_postcode,
    scene.address  AS incident_address,
    scene.postcode AS incident_postcode
FROM linked.incident_households AS ih
LEFT JOIN linked.person_links AS pl
    ON pl.as_of = ih.as_of AND pl.incident_id = ih.incident_id AND pl.person_ref = ih.person_ref
LEFT JOIN linked.households AS keyed
    ON keyed.as_of = ih.as_of AND keyed.household_id = pl.household_id
LEFT JOIN linked.households AS scene
    ON scene.as_of = ih.as_of AND scene.household_id = ih.household_id
WHERE ih.as_of = $as_of AND ih.basis = 'address_conflict'
ORDER BY ih.incident_id, ih.person_ref
