-- Auditor views: the questions auditors ask, answered from the audit trail and the dated
-- linked tables. Views only (no data of their own), so they are always in step with the
-- append-only tables beneath them, cost nothing to publish and are present in the
-- read-only published copy. docs/auditing.md shows how each is used.

-- Risk levels as numbers, so "rose" and "fell" are comparisons.
CREATE MACRO audit.level_rank(level) AS
    CASE level WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'standard' THEN 1 ELSE 0 END;

-- Each distinct published list date with the list date published before it.
CREATE VIEW audit.list_dates AS
WITH dates AS (SELECT DISTINCT list_date FROM audit.publications)
SELECT list_date, lag(list_date) OVER (ORDER BY list_date) AS previous_list_date
FROM dates;

-- The run that produced each list date's published marts: the latest publication.
CREATE VIEW audit.published_runs AS
SELECT p.list_date, p.run_id, p.published_at, p.child_flags, p.mash_list, p.school_notifications,
       r.rules_version, r.package_version, r.git_commit, r.trigger
FROM audit.publications AS p
LEFT JOIN (SELECT * FROM audit.run_log WHERE event = 'started') AS r USING (run_id)
QUALIFY row_number() OVER (PARTITION BY p.list_date ORDER BY p.published_at DESC, p.run_id DESC) = 1;

-- Every police incident as it stood on each date it was current: the version with the
-- latest updated_at among deliveries up to that date (as sql/queries/current_incidents.sql).
CREATE VIEW audit.incident_as_of AS
WITH dates AS (SELECT DISTINCT as_of FROM linked.incident_households)
SELECT d.as_of, v.incident_id, v.reported_at, v.updated_at, v.dash_risk, v.children_present,
       v.offence, v.delivery_date AS last_changed_on, v._file, v._row
FROM dates AS d
JOIN staging.police_incident_versions AS v ON v.delivery_date <= d.as_of
QUALIFY row_number() OVER (
    PARTITION BY d.as_of, v.incident_id ORDER BY v.updated_at DESC, v.delivery_date DESC, v._row DESC
) = 1;

-- Why a child was flagged on a list date: one row per list date and flagged child, with
-- the rules that fired (and their evidence), the incidents behind the flag as they stood
-- that night, the household, and every source record linked into the child with the
-- link decisions and scores that joined them.
CREATE VIEW audit.why_flagged AS
WITH flags AS (
    SELECT list_date, child_id, household_id, risk_level, status, reasons, incident_ids,
           rules_version, run_id
    FROM marts.child_flags
),
run_started AS (
    SELECT run_id, event_at FROM audit.run_log WHERE event = 'started'
),
-- A rerun of a date adds evidence only where it differs; keep each rule's latest.
evidence AS (
    SELECT e.list_date, e.child_id,
           list(struct_pack(rule_id := e.rule_id, rules_version := e.rules_version,
                            incident_ids := e.incident_ids, household_id := e.household_id,
                            source_records := e.source_records, detail := e.detail,
                            run_id := e.run_id) ORDER BY e.rule_id) AS evidence
    FROM (
        SELECT e.*
        FROM audit.flag_evidence AS e
        JOIN flags AS f USING (list_date, child_id)
        LEFT JOIN run_started AS r ON r.run_id = e.run_id
        WHERE e.rules_version = f.rules_version AND list_contains(f.reasons, e.rule_id)
        QUALIFY row_number() OVER (
            PARTITION BY e.list_date, e.child_id, e.rule_id ORDER BY r.event_at DESC NULLS LAST, e.run_id DESC
        ) = 1
    ) AS e
    GROUP BY e.list_date, e.child_id
),
flag_incidents AS (
    SELECT f.list_date, f.child_id, u.incident_id
    FROM flags AS f, unnest(f.incident_ids) AS u(incident_id)
),
incidents AS (
    SELECT fi.list_date, fi.child_id,
           list(struct_pack(incident_id := fi.incident_id, reported_at := i.reported_at,
                            updated_at := i.updated_at, dash_risk := i.dash_risk,
                            children_present := i.children_present,
                            first_delivered := fs.first_delivered,
                            last_changed_on := i.last_changed_on,
                            reaches_household_as := ih.reaches)
                ORDER BY i.reported_at DESC, fi.incident_id) AS incidents
    FROM flag_incidents AS fi
    LEFT JOIN audit.incident_as_of AS i ON i.as_of = fi.list_date AND i.incident_id = fi.incident_id
    LEFT JOIN (
        SELECT incident_id, min(delivery_date) AS first_delivered
        FROM staging.police_incident_versions
        GROUP BY incident_id
    ) AS fs ON fs.incident_id = fi.incident_id
    LEFT JOIN (
        SELECT as_of, incident_id, household_id,
               list(DISTINCT basis || coalesce(' via ' || person_ref, '') ORDER BY basis || coalesce(' via ' || person_ref, '')) AS reaches
        FROM linked.incident_households
        GROUP BY ALL
    ) AS ih ON ih.as_of = fi.list_date AND ih.incident_id = fi.incident_id
    GROUP BY fi.list_date, fi.child_id
),
records AS (
    -- Register records through the id cross-reference; police child nominals through
    -- person_links.
    SELECT f.list_date, f.child_id, x.record_id
    FROM flags AS f
    JOIN linked.child_xref AS x ON x.as_of = f.list_date AND x.child_id = f.child_id
    UNION
    SELECT f.list_date, f.child_id, 'police_persons:' || p.incident_id || ':' || p.person_ref
    FROM flags AS f
    JOIN linked.person_links AS p ON p.as_of = f.list_date AND p.child_id = f.child_id
),
record_lists AS (
    SELECT list_date, child_id, list(record_id ORDER BY record_id) AS source_records
    FROM records GROUP BY ALL
),
links AS (
    SELECT r.list_date, r.child_id,
           list(DISTINCT struct_pack(link_type := d.link_type, left_id := d.left_id,
                                     right_id := d.right_id, decision := d.decision,
                                     probability := d.probability,
                                     match_weight := d.match_weight, scores := d.scores)) AS link_decisions
    FROM records AS r
    JOIN audit.link_decisions AS d
      ON d.as_of = r.list_date AND (d.left_id = r.record_id OR d.right_id = r.record_id)
    WHERE d.decision IN ('auto_match', 'reviewed_match', 'review', 'blocked_by_guard', 'reviewed_nonmatch')
    GROUP BY r.list_date, r.child_id
)
SELECT
    f.list_date,
    f.child_id,
    f.risk_level,
    f.status,
    f.reasons,
    f.rules_version,
    f.run_id,
    f.household_id,
    h.address AS household_address,
    h.postcode AS household_postcode,
    h.household_key,
    coalesce(i.incidents, []) AS incidents,
    coalesce(e.evidence, []) AS evidence,
    coalesce(rl.source_records, []) AS source_records,
    coalesce(l.link_decisions, []) AS link_decisions
FROM flags AS f
LEFT JOIN linked.households AS h ON h.as_of = f.list_date AND h.household_id = f.household_id
LEFT JOIN incidents AS i USING (list_date, child_id)
LEFT JOIN evidence AS e USING (list_date, child_id)
LEFT JOIN record_lists AS rl USING (list_date, child_id)
LEFT JOIN links AS l USING (list_date, child_id);

-- Which households and children each police record reached, night by night. One row per
-- (as_of, police record): a nominal ('police_persons:<incident>:<person_ref>') or the
-- incident's own location ('police_incidents:<incident>').
CREATE VIEW audit.police_record_links AS
WITH reach AS (
    SELECT as_of, incident_id, person_ref,
           CASE WHEN person_ref IS NULL THEN 'police_incidents:' || incident_id
                ELSE 'police_persons:' || incident_id || ':' || person_ref END AS record_id,
           household_id, basis
    FROM linked.incident_households
),
nominals AS (
    SELECT as_of, incident_id, person_ref,
           'police_persons:' || incident_id || ':' || person_ref AS record_id,
           role, person_id, household_id AS home_household_id, child_id AS linked_child_id,
           link_probability
    FROM linked.person_links
),
records AS (
    SELECT as_of, incident_id, person_ref, record_id FROM reach
    UNION
    SELECT as_of, incident_id, person_ref, record_id FROM nominals
),
households_reached AS (
    SELECT r.as_of, r.record_id,
           list(DISTINCT r.household_id ORDER BY r.household_id) AS households_reached,
           list(DISTINCT r.basis ORDER BY r.basis) AS bases
    FROM reach AS r
    GROUP BY ALL
),
children_reached AS (
    SELECT r.as_of, r.record_id, list(DISTINCT c.child_id ORDER BY c.child_id) AS children_in_households_reached
    FROM reach AS r
    JOIN linked.children AS c ON c.as_of = r.as_of AND c.household_id = r.household_id
    GROUP BY ALL
),
decisions AS (
    SELECT rec.as_of, rec.record_id,
           list(DISTINCT struct_pack(link_type := d.link_type, other_id := CASE WHEN d.left_id = rec.record_id THEN d.right_id ELSE d.left_id END,
                                     decision := d.decision, probability := d.probability,
                                     match_weight := d.match_weight, scores := d.scores)) AS link_decisions
    FROM records AS rec
    JOIN audit.link_decisions AS d
      ON d.as_of = rec.as_of AND (d.left_id = rec.record_id OR d.right_id = rec.record_id)
    WHERE d.decision <> 'auto_nonmatch'
    GROUP BY ALL
)
SELECT
    rec.as_of,
    rec.incident_id,
    rec.person_ref,
    rec.record_id,
    n.role,
    n.person_id,
    n.home_household_id,
    n.linked_child_id,
    n.link_probability,
    coalesce(h.households_reached, []) AS households_reached,
    coalesce(h.bases, []) AS bases,
    coalesce(c.children_in_households_reached, []) AS children_in_households_reached,
    coalesce(d.link_decisions, []) AS link_decisions
FROM records AS rec
LEFT JOIN nominals AS n USING (as_of, record_id)
LEFT JOIN households_reached AS h USING (as_of, record_id)
LEFT JOIN children_reached AS c USING (as_of, record_id)
LEFT JOIN decisions AS d USING (as_of, record_id);

-- What changed between a list date and the list date published before it. One row per
-- change: a child newly flagged, dropped, escalated or de-escalated, and each household
-- listed for discussion that night.
CREATE VIEW audit.night_changes AS
WITH pairs AS (
    SELECT list_date, previous_list_date FROM audit.list_dates
),
cur AS (
    SELECT p.list_date, p.previous_list_date, f.child_id, f.household_id, f.risk_level
    FROM pairs AS p JOIN marts.child_flags AS f USING (list_date)
),
prev AS (
    SELECT p.list_date, p.previous_list_date, f.child_id, f.household_id, f.risk_level
    FROM pairs AS p JOIN marts.child_flags AS f ON f.list_date = p.previous_list_date
),
children AS (
    SELECT
        coalesce(c.list_date, p.list_date) AS list_date,
        coalesce(c.previous_list_date, p.previous_list_date) AS previous_list_date,
        CASE
            WHEN p.child_id IS NULL THEN 'newly_flagged'
            WHEN c.child_id IS NULL THEN 'dropped'
            WHEN audit.level_rank(c.risk_level) > audit.level_rank(p.risk_level) THEN 'escalated'
            WHEN audit.level_rank(c.risk_level) < audit.level_rank(p.risk_level) THEN 'de_escalated'
        END AS change,
        'child' AS subject_type,
        coalesce(c.child_id, p.child_id) AS subject_id,
        coalesce(c.household_id, p.household_id) AS household_id,
        p.risk_level AS level_before,
        c.risk_level AS level_after,
        CAST(NULL AS INTEGER) AS priority
    FROM cur AS c
    FULL JOIN prev AS p ON p.list_date = c.list_date AND p.child_id = c.child_id
),
listed AS (
    SELECT m.list_date, p.previous_list_date, 'household_listed' AS change, 'household' AS subject_type,
           m.household_id AS subject_id, m.household_id,
           pm.risk_level AS level_before, m.risk_level AS level_after, m.priority
    FROM marts.mash_list AS m
    JOIN pairs AS p USING (list_date)
    LEFT JOIN marts.mash_list AS pm ON pm.list_date = p.previous_list_date AND pm.household_id = m.household_id
)
SELECT * FROM children WHERE change IS NOT NULL
UNION ALL
SELECT * FROM listed;

-- Rejected rows by delivery, source, column and problem (counts only; audit.quarantine has
-- the rows). Reasons quote the offending text ("nhs_number: '123' fails Modulus 11"); the
-- quoted text is masked here so the summary groups like problems together and carries no
-- delivered values.
CREATE VIEW audit.quarantine_summary AS
WITH reasons AS (
    SELECT DISTINCT delivery_date, source, _file, _row, unnest(reasons) AS reason
    FROM audit.quarantine
), classified AS (
    SELECT delivery_date, source, _file, _row,
           CASE WHEN regexp_matches(reason, '^[a-z_0-9]+: ') THEN split_part(reason, ':', 1) END AS column_name,
           regexp_replace(reason, '''[^'']*''', '''…''', 'g') AS problem
    FROM reasons
)
SELECT delivery_date, source, _file, column_name, problem, count(DISTINCT _row) AS rows,
       min(_row) AS first_row, max(_row) AS last_row
FROM classified
GROUP BY ALL;
