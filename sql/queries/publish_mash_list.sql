INSERT INTO marts.mash_list BY NAME
SELECT list_date, household_id, priority, risk_level, address, postcode, child_ids, incident_ids,
       reasons, agencies, new_since_previous, due_by, rules_version, follow_ups, run_id,
       list_key, badge, why_listed, history, last_listed_on, suspect_relationships, incident_reach,
       contact_ids, contacts, social_care, worries, working_well, next_steps, curiosity_prompts
FROM linked.pending_mash_list
WHERE list_date = $list_date AND run_id = $run_id
