"""The synthetic county, night after night, through the real pipeline, checked against truth."""

from __future__ import annotations

import re

import polars as pl
import pytest
from builders import read_sql

from e2e.conftest import County
from pipeline.config import PROJECT_ROOT
from pipeline.publish import warehouse

pytestmark = pytest.mark.xdist_group("e2e_county")


def _frame(county: County, sql: str, **params: object) -> pl.DataFrame:
    with warehouse.open_reader(county.settings.warehouse) as wh:
        return read_sql(wh, sql, params or None)


def test_every_night_ran_and_published(county: County) -> None:
    runs = _frame(county, "SELECT logical_date, status FROM audit.runs ORDER BY logical_date")
    assert runs["logical_date"].to_list() == county.days
    assert set(runs["status"]) == {"succeeded"}
    published = _frame(county, "SELECT DISTINCT list_date FROM audit.publications ORDER BY 1")
    assert published["list_date"].to_list() == county.days


def test_counts_reconcile_per_source_per_night(county: County) -> None:
    """delivered = landed in raw = staged + quarantined, for every source and night."""
    counts = _frame(county, """
        WITH raw AS (
            SELECT 'police_incidents' AS source, delivery_date, count(*) AS n FROM raw.police_incidents GROUP BY ALL
            UNION ALL SELECT 'police_persons', delivery_date, count(*) FROM raw.police_persons GROUP BY ALL
            UNION ALL SELECT 'school_census', delivery_date, count(*) FROM raw.school_census GROUP BY ALL
            UNION ALL SELECT 'health_register', delivery_date, count(*) FROM raw.health_register GROUP BY ALL
        ), staged AS (
            SELECT 'police_incidents' AS source, delivery_date, count(*) AS n FROM staging.police_incident_versions GROUP BY ALL
            UNION ALL SELECT 'police_persons', delivery_date, count(*) FROM staging.police_person_versions GROUP BY ALL
            UNION ALL SELECT 'school_census', snapshot_date, count(*) FROM staging.school_census_snapshots GROUP BY ALL
            UNION ALL SELECT 'health_register', snapshot_date, count(*) FROM staging.health_register_snapshots GROUP BY ALL
        ), quarantined AS (
            SELECT source, delivery_date, count(*) AS n FROM audit.quarantine GROUP BY ALL
        )
        SELECT raw.source, raw.delivery_date, raw.n AS landed,
               coalesce(staged.n, 0) AS staged, coalesce(quarantined.n, 0) AS quarantined
        FROM raw
        LEFT JOIN staged USING (source, delivery_date)
        LEFT JOIN quarantined USING (source, delivery_date)
    """)
    assert counts.height > 0
    bad = counts.filter(pl.col("landed") != pl.col("staged") + pl.col("quarantined"))
    assert bad.is_empty(), bad
    # And raw holds exactly what the generator wrote.
    for day in county.days:
        for source in ("health_register", "school_census"):
            path = county.settings.landing_dir / day.isoformat() / f"{source}.csv"
            if path.exists():
                delivered = pl.read_csv(path, infer_schema=False).height
                landed = counts.filter((pl.col("source") == source) & (pl.col("delivery_date") == day))
                assert landed["landed"].to_list() == [delivered]


def test_every_injected_invalid_row_is_accounted_for_and_its_value_nowhere_downstream(county: County) -> None:
    """Each invalid row is quarantined whole or staged with its bad value withheld
    (audit.field_defects); either way the rejected value never reaches the child index."""
    invalid = pl.read_parquet(county.truth / "invalid_rows.parquet")
    assert invalid.height > 0, "the generator should inject invalid rows at this size"
    quarantine = _frame(county, "SELECT delivery_date, _file AS file, _row FROM audit.quarantine")
    withheld = _frame(county, "SELECT DISTINCT delivery_date, _file AS file, _row, source FROM audit.field_defects")
    accounted = pl.concat([quarantine, withheld.drop("source")]).unique()
    missing = invalid.join(accounted, on=["delivery_date", "file", "_row"], how="anti")
    assert missing.is_empty(), missing
    # Incidents keep today's rule (a bad key field quarantines the row), as does every
    # police nominal's defect other than a date of birth.
    incidents = invalid.filter(pl.col("source") == "police_incidents")
    assert incidents.join(quarantine, on=["delivery_date", "file", "_row"], how="anti").is_empty()
    assert withheld.filter(pl.col("source") == "police_incidents").is_empty()
    # Register rows with a bad field are staged, not lost: the point of withholding a field.
    assert withheld.filter(pl.col("source").is_in(["health_register", "school_census"])).height > 0
    rejected = _frame(county, """
        SELECT DISTINCT replace(r.nhs_number, ' ', '') AS nhs
        FROM audit.field_defects AS d
        JOIN raw.health_register AS r USING (delivery_date, _file, _row)
        WHERE d.column_name = 'nhs_number' AND d.rule = 'nhs_number.valid'
        UNION
        SELECT DISTINCT replace(record->>'nhs_number', ' ', '')
        FROM restricted.rejected_rows
        WHERE source = 'health_register' AND len(list_filter(reasons, lambda r: r LIKE '%Modulus 11%')) > 0
    """)["nhs"].to_list()
    assert rejected
    downstream = _frame(county, "SELECT count(*) AS n FROM marts.child_index WHERE list_contains($k, nhs_number)", k=rejected)
    assert downstream["n"][0] == 0


def test_register_children_are_linked_across_both_registers(county: County) -> None:
    records = pl.read_parquet(county.truth / "register_records.parquet")
    last = county.days[-1]
    current = records.filter((pl.col("first_delivery") <= last) & (pl.col("last_delivery") >= last))
    both = (current.group_by("person_uid").agg(pl.col("source").n_unique().alias("n"),
                                              pl.col("record_key"), pl.col("source").alias("sources"))
            .filter(pl.col("n") == 2))
    index = _frame(county, "SELECT child_id, nhs_number, upn FROM marts.child_index")
    by_nhs = dict(zip(index["nhs_number"], index["child_id"], strict=True))
    by_upn = dict(zip(index["upn"], index["child_id"], strict=True))
    linked = 0
    for keys, sources in zip(both["record_key"], both["sources"], strict=True):
        ids = dict(zip(sources, keys, strict=True))
        if by_nhs.get(ids["health_register"]) is not None and by_nhs.get(ids["health_register"]) == by_upn.get(ids["school_census"]):
            linked += 1
    # With every defect class on, 2 080 of 2 081 are linked since names are also compared
    # crossed (2 051 before); tests/e2e/test_accuracy.py holds the register-pair floors.
    assert linked / both.height >= 0.99, f"{linked} of {both.height} children linked across registers"


def test_child_ids_are_stable_from_night_to_night(county: County) -> None:
    xref = _frame(county, "SELECT as_of, record_id, child_id FROM linked.child_xref WHERE as_of IN ($a, $b)",
                  a=county.days[0], b=county.days[-1])
    first = xref.filter(pl.col("as_of") == county.days[0]).drop("as_of")
    last = xref.filter(pl.col("as_of") == county.days[-1]).drop("as_of")
    both = first.join(last, on="record_id", suffix="_last")
    assert both.height > 0.9 * first.height
    changed = both.filter(pl.col("child_id") != pl.col("child_id_last"))
    assert changed.height <= 0.001 * both.height, changed


def test_households_are_listed_only_when_something_is_new(county: County) -> None:
    later = county.days[1:]
    mash = _frame(county, "SELECT list_date, household_id, incident_ids, new_since_previous, why_listed FROM marts.mash_list WHERE list_date > $d", d=county.days[0])
    flags = _frame(county, "SELECT list_date, count(DISTINCT household_id) AS n FROM marts.child_flags WHERE list_date > $d GROUP BY ALL", d=county.days[0])
    assert flags["n"].min() > 0
    for day in later:
        listed = mash.filter(pl.col("list_date") == day)
        flagged = flags.filter(pl.col("list_date") == day)["n"][0]
        assert listed.height < flagged, f"{day}: every flagged household re-listed"
        with warehouse.open_reader(county.settings.warehouse) as wh:
            current = wh.query("current_incidents", as_of=day)
        changed_today = set(current.filter(pl.col("last_changed_on") == day)["incident_id"])
        for row in listed.iter_rows(named=True):
            # A new contact with the MASH about a flagged child is something new too.
            new_contact = any(w.startswith("New contact(s) with the MASH") for w in row["why_listed"])
            assert set(row["incident_ids"]) & changed_today or row["new_since_previous"] or new_contact, row


def test_every_listed_household_has_flagged_children_and_unique_priorities(county: County) -> None:
    mash = _frame(county, "SELECT list_date, priority, child_ids FROM marts.mash_list")
    assert mash.group_by("list_date").agg(pl.col("priority").n_unique() == pl.len())["priority"].all()
    assert (mash["child_ids"].list.len() > 0).all()


def _auditing_guide_queries() -> list[tuple[bool, str]]:
    """Every query of docs/auditing.md, and whether the guide says it must return no rows."""
    text = (PROJECT_ROOT / "docs" / "auditing.md").read_text(encoding="utf-8")
    return [(bool(must), query) for must, query in
            re.findall(r"(\(Must return no rows\.\)\s*)?```sql\n(.*?)```", text, flags=re.S)]


def test_the_auditing_guide_runs_on_the_county_and_its_integrity_checks_find_nothing(county: County) -> None:
    queries = _auditing_guide_queries()
    empty_by_promise = [q for must, q in queries if must]
    assert len(empty_by_promise) == 2, "the guide's two 'must return no rows' checks"
    with warehouse.open_reader(county.settings.warehouse) as wh:
        for _, query in queries:
            wh.literal_rows(query)
        for query in empty_by_promise:
            rows = wh.literal_rows(query)
            assert rows == [], f"{query}\nreturned {len(rows)} row(s), e.g. {rows[:3]}"
        # Both checks look at something: flags with evidence, and publications with marts.
        assert wh.literal_rows("SELECT count(*) FROM audit.why_flagged")[0][0] > 0
        assert wh.literal_rows("SELECT count(*) FROM audit.published_runs WHERE child_flags > 0")[0][0] == len(county.days)
