"""The coordinator's report: content, order, escaping, CSV, and a real headless browser."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline import schemas
from pipeline.calendar import LONDON
from pipeline.report import age_on, render_report
from pipeline.rules import load_rules

LIST_DATE = date(2026, 11, 4)
RULES = load_rules()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = '<script>window.__pwned = 1</script>"\'&'
RTL = "\u202eevil\u202c"


def _child(child_id: str, household: str, forename: str, surname: str, dob: date, level: str,
           school: str | None = None) -> dict[str, Any]:
    return {"list_date": LIST_DATE, "child_id": child_id, "household_id": household, "forename": forename,
            "surname": surname, "dob": dob, "nhs_number": None, "upn": None, "school_urn": school,
            "gp_practice_code": None, "risk_level": level, "reasons": ["DA_IN_HOUSEHOLD"],
            "incident_ids": ["I1"], "status": "new", "rules_version": RULES.version}


def _household(priority: int, household: str, level: str, child_ids: list[str], reasons: list[str],
               address: str = "1 Test Street, Norwich", due_hour: int = 13) -> dict[str, Any]:
    return {"list_date": LIST_DATE, "household_id": household, "priority": priority, "risk_level": level,
            "address": address, "postcode": "NR1 1AA", "child_ids": child_ids, "incident_ids": ["I-" + household],
            "reasons": reasons, "agencies": ["police", "school:121212", "gp:D82001", "health_visiting:Norwich North",
                                             "health_visiting"],
            "new_since_previous": priority != 2, "due_by": datetime(2026, 11, 4, due_hour, 0, tzinfo=LONDON),
            "rules_version": RULES.version}


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    # Deliberately out of order: the report must sort by priority.
    mash = pl.DataFrame([
        _household(3, "H_STD", "standard", ["C4"], ["DA_IN_HOUSEHOLD"], due_hour=17),
        {**_household(1, "H_HIGH", "high", ["C1", "C2"], ["DA_IN_HOUSEHOLD", "DASH_HIGH", "UNDER_ONE"],
                      address=f"Flat 2 {HOSTILE}"),
         "follow_ups": ["SUSPECT_HOME_UNKNOWN:I-H_HIGH/N-77"]},
        _household(2, "H_MED", "medium", ["C3"], ["DA_IN_HOUSEHOLD", "TWO_INCIDENTS"]),
    ], schema=schemas.MASH_LIST)
    flags = pl.DataFrame([
        _child("C1", "H_HIGH", "Ava", "Reed", date(2026, 6, 20), "high"),
        _child("C2", "H_HIGH", HOSTILE, RTL, date(2018, 3, 1), "high", school="121212"),
        _child("C3", "H_MED", "=HYPERLINK(\"x\")", "Smith", date(2023, 11, 5), "medium"),
        _child("C4", "H_STD", "Leo", "O'Neill", date(2014, 1, 1), "standard"),
    ], schema=schemas.CHILD_FLAGS)
    return mash, flags


def unlocated() -> pl.DataFrame:
    def suspect(incident: str, ref: str, households: list[str], new: bool = True) -> dict[str, Any]:
        return {"list_date": LIST_DATE, "incident_id": incident, "person_ref": ref, "person_id": "P-" + ref,
                "reported_at": datetime(2026, 11, 3, 22, 15, tzinfo=UTC), "dash_risk": "not_assessed",
                "listed_households": households, "new_since_previous": new, "rules_version": RULES.version}
    return pl.DataFrame([suspect("I-H_HIGH", "N-77", ["H_HIGH"]), suspect("I-NOCHILD", HOSTILE, []),
                         suspect("I-OLD", "N-5", [], new=False)], schema=schemas.UNLOCATED_SUSPECTS)


def render() -> tuple[str, str]:
    mash, flags = frames()
    return render_report(LIST_DATE, mash, flags, generated_at=datetime(2026, 11, 4, 6, 5, tzinfo=UTC),
                         rules_version=RULES.version, rules=RULES, unlocated=unlocated())


@pytest.mark.parametrize(
    ("dob", "age"),
    [(date(2026, 6, 20), "4 months"), (date(2026, 10, 4), "1 month"), (date(2026, 10, 5), "0 months"),
     (date(2024, 11, 5), "23 months"), (date(2024, 11, 4), "2 years"), (date(2018, 3, 1), "8 years"),
     (None, "age unknown")],
)
def test_age_on_list_date(dob: date | None, age: str) -> None:
    assert age_on(dob, LIST_DATE) == age


def test_html_is_self_contained_escaped_and_in_priority_order() -> None:
    html, _ = render()
    assert "<script>" not in html and "&lt;script&gt;window.__pwned" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "@media print" in html
    order = [html.index(f'data-household-id="{h}"') for h in ("H_HIGH", "H_MED", "H_STD")]
    assert order == sorted(order)
    assert RULES.sentence("UNDER_ONE") in html and "UNDER_ONE" not in html
    assert "Ava Reed</bdi>, 4 months" in html
    assert "Health visiting (Norwich North)" in html and "Health visiting (team not recorded)" in html
    assert "Wed 04 Nov 2026 13:00" in html
    assert "Generated Wed 04 Nov 2026 06:05" in html


def test_csv_has_the_same_rows_and_defuses_formulas() -> None:
    _, text = render()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["household_id"] for r in rows] == ["H_HIGH", "H_MED", "H_STD"]
    assert [r["priority"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["due_by"] == "2026-11-04T13:00:00+00:00"
    assert rows[1]["children"].startswith("'=HYPERLINK")
    assert RULES.sentence("DASH_HIGH") in rows[0]["reasons"]
    assert rows[0]["child_ids"] == "C1; C2"


def test_empty_list_renders_a_message() -> None:
    mash, flags = frames()
    html, text = render_report(LIST_DATE, mash.clear(), flags.clear(), generated_at=datetime(2026, 11, 4, tzinfo=UTC),
                               rules_version=RULES.version, rules=RULES)
    assert "No household has anything new" in html
    assert text.strip().count("\n") == 0  # header only


@pytest.mark.browser
def test_report_renders_in_a_headless_browser() -> None:
    if not Path("/usr/bin/chromium").exists():
        # `make test` (and so CI) installs it; skipping there would hide a broken report.
        if os.environ.get("CI"):
            pytest.fail("CI must provide /usr/bin/chromium (make browser installs it)")
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    html, _ = render()
    ARTIFACTS.mkdir(exist_ok=True)
    page_file = ARTIFACTS / "mash-list.html"
    page_file.write_text(html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            priorities = page.locator("tr.household").evaluate_all("rows => rows.map(r => r.dataset.priority)")
            assert priorities == ["1", "2", "3"]
            assert page.locator("tr.household").first.get_attribute("data-household-id") == "H_HIGH"
            assert page.evaluate("() => window.__pwned") is None
            names = page.locator("tr.household").first.locator(".child-name").all_inner_texts()
            assert names[1] == f"{HOSTILE} {RTL}"
            assert requests == [page_file.as_uri()]  # nothing fetched beyond the file itself
            follow_ups = page.locator("tr.household").first.locator("li.follow-up").all_inner_texts()
            assert follow_ups == ["Police to establish where the suspect (N-77, incident I-H_HIGH) lives and whether "
                                  "children live there: no address, or no fixed abode, is recorded on any incident."]
            suspects = page.locator("tr.unlocated-suspect").evaluate_all(
                "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))")
            assert [row[1] for row in suspects] == ["I-H_HIGH", "I-NOCHILD"]  # only those new since the last list
            assert suspects[0][4] == "priority 1" and suspects[1][4].startswith("no: the incident reached no known child")
            assert suspects[1][2] == HOSTILE  # shown as text, never run
            page.screenshot(path=str(ARTIFACTS / "mash-list.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(ARTIFACTS / "mash-list-print.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "mash-list.png").stat().st_size > 0


def test_rules_version_defaults_to_the_one_the_rows_record() -> None:
    mash, flags = frames()
    html, _ = render_report(LIST_DATE, mash.with_columns(rules_version=pl.lit("2026.10-7")), flags,
                            generated_at=datetime(2026, 11, 4, tzinfo=UTC), rules=RULES)
    assert "rules version 2026.10-7" in html
