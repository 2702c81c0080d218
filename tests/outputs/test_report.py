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
from pipeline.errors import ConfigError
from pipeline.flag.calendar import LONDON
from pipeline.flag.rules import load_rules
from pipeline.outputs.report import age_on, follow_up_sentence, load_gp_practices, render_report

LIST_DATE = date(2026, 11, 4)
RULES = load_rules()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = '<script>window.__pwned = 1</script>"\'&'
RTL = "\u202eevil\u202c"


def _child(child_id: str, household: str | None, forename: str, surname: str, dob: date, level: str,
           school: str | None = None, reason: str = "domestic abuse in the household") -> dict[str, Any]:
    return {"list_date": LIST_DATE, "child_id": child_id, "household_id": household, "forename": forename,
            "surname": surname, "dob": dob, "nhs_number": None, "upn": None, "school_urn": school,
            "gp_practice_code": None, "risk_level": level, "reasons": ["DA_IN_HOUSEHOLD"],
            "incident_ids": ["I1"], "status": "new", "rules_version": RULES.version,
            "level_reason": reason, "school_name": "Dereham Juniors" if school else None}


def _household(priority: int, household: str, level: str, child_ids: list[str], reasons: list[str],
               address: str = "1 Test Street, Norwich", due_hour: int = 13) -> dict[str, Any]:
    return {"list_date": LIST_DATE, "household_id": household, "priority": priority, "risk_level": level,
            "address": address, "postcode": "NR1 1AA", "child_ids": child_ids, "incident_ids": ["I-" + household],
            "reasons": reasons, "agencies": ["police", "school:121212", "gp:D82001", "health_visiting:Norwich North",
                                             "health_visiting"],
            "new_since_previous": priority != 2, "due_by": datetime(2026, 11, 4, due_hour, 0, tzinfo=LONDON),
            "rules_version": RULES.version, "list_key": "household:" + household,
            "badge": "updated" if priority == 2 else "new",
            "why_listed": [f"New incident I-{household}, reported 3 Nov: assault, DASH standard."],
            "history": "No earlier incident in the last 365 days. Not on any earlier list.",
            "suspect_relationships": [f"I-{household}: the suspect is the victim's partner"],
            "incident_reach": [f"I-{household}:victim_home"]}


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    # Deliberately out of order: the report must sort by priority.
    mash = pl.DataFrame([
        {**_household(3, "H_STD", "standard", ["C4"], ["DA_IN_HOUSEHOLD"], due_hour=17), "badge": "escalated"},
        {**_household(1, "H_HIGH", "high", ["C1", "C2"], ["DA_IN_HOUSEHOLD", "DASH_HIGH", "UNDER_ONE"],
                      address=f"Flat 2 {HOSTILE}"),
         "follow_ups": ["SUSPECT_HOME_UNKNOWN:I-H_HIGH/N-77"]},
        {**_household(2, "H_MED", "medium", ["C3"], ["DA_IN_HOUSEHOLD", "TWO_INCIDENTS"]),
         "incident_ids": ["I-H_MED", "I-SHARED"], "incident_reach": ["I-H_MED:victim_home", "I-SHARED:victim_home"],
         "why_listed": ["Incident I-H_MED (reported 1 Oct, assault) updated: DASH raised from standard to medium "
                        "on 3 Nov."],
         "history": "Earlier incidents: 12 Sep (DASH standard). Last discussed on the list of 3 Oct 2026."},
        {**_household(4, "H_SUSPECT", "standard", ["C5"], ["DA_IN_HOUSEHOLD"]),
         "incident_ids": ["I-SHARED"], "incident_reach": ["I-SHARED:suspect_home"],
         "follow_ups": ["ADDRESS_CONFLICT:I-SHARED/N-9"]},
        {**_household(5, "unused", "medium", ["C6"], ["DA_IN_HOUSEHOLD", "CHILDREN_PRESENT"]),
         "household_id": None, "address": None, "postcode": None, "list_key": "child:C6", "agencies": ["police"]},
    ], schema=schemas.MASH_LIST)
    flags = pl.DataFrame([
        _child("C1", "H_HIGH", "Ava", "Reed", date(2026, 6, 20), "high"),
        _child("C2", "H_HIGH", HOSTILE, RTL, date(2018, 3, 1), "medium", school="121212"),
        _child("C3", "H_MED", "=HYPERLINK(\"x\")", "Smith", date(2023, 11, 5), "medium"),
        _child("C4", "H_STD", "Leo", "O'Neill", date(2014, 1, 1), "standard"),
        _child("C5", "H_SUSPECT", "Kit", "Lane", date(2019, 5, 5), "standard", school="121212"),
        _child("C6", None, "Noor", "Police-Only", date(2021, 2, 2), "medium", reason="named at the incident"),
    ], schema=schemas.CHILD_FLAGS)
    return mash, flags


def unlocated() -> pl.DataFrame:
    def suspect(incident: str, ref: str, households: list[str], new: bool = True) -> dict[str, Any]:
        return {"list_date": LIST_DATE, "incident_id": incident, "person_ref": ref, "person_id": "P-" + ref,
                "reported_at": datetime(2026, 11, 3, 22, 15, tzinfo=UTC), "dash_risk": "not_assessed",
                "listed_households": households, "new_since_previous": new, "rules_version": RULES.version}
    return pl.DataFrame([suspect("I-H_HIGH", "N-77", ["H_HIGH"]), suspect("I-NOCHILD", HOSTILE, []),
                         suspect("I-OLD", "N-5", [], new=False)], schema=schemas.UNLOCATED_SUSPECTS)


def notifications() -> pl.DataFrame:
    def notice(child: str, incident: str, due: datetime, late: bool) -> dict[str, Any]:
        return {"list_date": LIST_DATE, "school_urn": "121212", "child_id": child, "upn": None,
                "incident_id": incident, "notify_by": due, "incident_reported_at": due, "child_present": "unknown",
                "late": late}
    return pl.DataFrame([notice("C2", "I-H_HIGH", datetime(2026, 11, 3, 8, 30), True),
                         notice("C5", "I-SHARED", datetime(2026, 11, 4, 8, 30), False)],
                        schema=schemas.SCHOOL_NOTIFICATIONS)


GP_NAMES = {"D82001": "Riverside Medical Practice"}


def render() -> tuple[str, str]:
    mash, flags = frames()
    return render_report(LIST_DATE, mash, flags, generated_at=datetime(2026, 11, 4, 6, 5, tzinfo=UTC),
                         rules_version=RULES.version, rules=RULES, unlocated=unlocated(),
                         notifications=notifications(), gp_names=GP_NAMES)


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
    order = [html.index(f'data-household-id="{h}"') for h in ("H_HIGH", "H_MED", "H_STD", "H_SUSPECT")]
    assert order == sorted(order)
    assert RULES.sentence("UNDER_ONE") in html and "UNDER_ONE" not in html
    assert "Ava Reed</bdi>, 4 months" in html
    assert "Health visiting (Norwich North)" in html and "Health visiting (team not recorded)" in html
    assert "Wed 04 Nov 2026 13:00" in html
    assert "Generated Wed 04 Nov 2026 06:05" in html


def test_each_row_says_why_it_is_listed_today_its_history_and_the_suspect() -> None:
    html, _ = render()
    assert "DASH raised from standard to medium on 3 Nov." in html
    assert "Earlier incidents: 12 Sep (DASH standard). Last discussed on the list of 3 Oct 2026." in html
    assert "I-H_HIGH: the suspect is the victim&#39;s partner" in html
    # Badges: NEW only the first time; a re-listed household is UPDATED.
    assert 'data-household-id="H_MED" data-list-key="household:H_MED" data-badge="UPDATED"' in html
    assert 'data-household-id="H_HIGH" data-list-key="household:H_HIGH" data-badge="NEW"' in html
    assert "(3 new, 1 escalated, 1 updated)" in html


def test_names_not_codes_and_facts_not_blanks() -> None:
    html, _ = render()
    assert "GP: Riverside Medical Practice (D82001)" in html  # a known practice by name
    assert "School: Dereham Juniors (URN 121212)" in html
    assert "Dereham Juniors (URN 121212)</bdi>" in html  # the child's school, by name
    # Leo is 12 and on no roll: said, not left blank. Ava (baby) is not of school age.
    leo = html[html.index("Leo O&#39;Neill"):html.index("Leo O&#39;Neill") + 800]
    assert "not on any school roll: check elective home education or children missing education" in leo
    ava = html[html.index("Ava Reed"):html.index("Ava Reed") + 400]
    assert "school roll" not in ava


def test_a_sibling_with_another_level_is_explained_on_its_own_line() -> None:
    html, _ = render()
    assert "Medium, not high like the household: domestic abuse in the household." in html


def test_late_school_notices_are_marked_and_shared_incidents_cross_referenced() -> None:
    html, text = render()
    assert ("school notice for incident I-H_HIGH: late: police delivery arrived after the school day started "
            "(was due Tue 03 Nov 08:30)") in html
    assert "school to be told of incident I-SHARED by Wed 04 Nov 08:30" in html
    assert "also see #4: same incident I-SHARED, the suspect&#39;s home" in html
    assert "also see #2: same incident I-SHARED, the victim&#39;s home" in html
    rows = {r["household_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert "late: police delivery arrived" in rows["H_HIGH"]["school_notices"]


def test_a_child_with_no_known_home_has_its_own_section() -> None:
    html, text = render()
    section = html[html.index('id="no-home"'):]
    assert "Children police named whom no register holds: establish where they live" in section
    assert 'data-list-key="child:C6"' in section and "Noor Police-Only" in section
    assert "named at the incident" in section
    assert 'data-list-key="child:C6"' not in html[:html.index('id="no-home"')]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["child_ids"] == "C6" and rows[-1]["household_id"] == ""


@pytest.mark.parametrize(
    ("follow_up", "sentence"),
    [("SUSPECT_HOME_UNKNOWN:I1/N-7", "Police to establish where the suspect (N-7, incident I1) lives"),
     ("ADDRESS_CONFLICT:I2/N-8", "Records disagree about where someone lives (incident I2, person N-8)"),
     ("SCHOOL_ROLL_GAP:I3/N-9", "School roll gap (incident I3, person N-9): to establish.")],
)
def test_follow_ups_are_said_in_words_by_their_kind(follow_up: str, sentence: str) -> None:
    assert follow_up_sentence(follow_up).startswith(sentence)


def test_csv_has_the_same_rows_and_defuses_formulas() -> None:
    _, text = render()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["household_id"] for r in rows] == ["H_HIGH", "H_MED", "H_STD", "H_SUSPECT", ""]
    assert [r["priority"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["due_by"] == "2026-11-04T13:00:00+00:00"
    assert rows[1]["children"].startswith("'=HYPERLINK")
    assert RULES.sentence("DASH_HIGH") in rows[0]["reasons"]
    assert rows[0]["child_ids"] == "C1; C2"
    assert rows[1]["badge"] == "UPDATED" and "DASH raised" in rows[1]["why_listed"]
    assert rows[0]["suspect"] == "I-H_HIGH: the suspect is the victim's partner"


def test_csv_times_are_london_with_their_offset_in_summer() -> None:
    """A due time in British Summer Time reads 13:00+01:00 in the CSV, as in the HTML, not 12:00 UTC."""
    mash, flags = frames()
    summer = date(2026, 10, 5)
    mash = mash.with_columns(list_date=pl.lit(summer),
                             due_by=pl.lit(datetime(2026, 10, 5, 12, 0, tzinfo=UTC)).dt.convert_time_zone("UTC"))
    flags = flags.with_columns(list_date=pl.lit(summer))
    html, text = render_report(summer, mash, flags, generated_at=datetime(2026, 10, 5, 6, tzinfo=UTC),
                               rules=RULES, gp_names={})
    assert next(csv.DictReader(io.StringIO(text)))["due_by"] == "2026-10-05T13:00:00+01:00"
    assert "Mon 05 Oct 2026 13:00" in html


def test_gp_practice_names_come_from_the_shipped_csv_and_bad_files_say_where(tmp_path: Path) -> None:
    assert load_gp_practices()["D82001"]
    bad = tmp_path / "gp.csv"
    bad.write_text("gp_practice_code,name\nD1,Somewhere\nD2,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="row 2, column name"):
        load_gp_practices(bad)


def test_empty_list_renders_a_message() -> None:
    mash, flags = frames()
    html, text = render_report(LIST_DATE, mash.clear(), flags.clear(), generated_at=datetime(2026, 11, 4, tzinfo=UTC),
                               rules_version=RULES.version, rules=RULES)
    assert "No household has anything new" in html
    assert text.strip().count("\n") == 0  # header only


def _browser() -> Any:
    if not Path("/usr/bin/chromium").exists():
        # `make test` (and so CI) installs it; skipping there would hide a broken report.
        if os.environ.get("CI"):
            pytest.fail("CI must provide /usr/bin/chromium (make browser installs it)")
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


_CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_report_renders_in_a_headless_browser() -> None:
    html, _ = render()
    ARTIFACTS.mkdir(exist_ok=True)
    page_file = ARTIFACTS / "mash-list.html"
    page_file.write_text(html, encoding="utf-8")
    with _browser() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=_CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            rows = page.locator("main article.household")
            assert rows.evaluate_all("rows => rows.map(r => r.dataset.priority)") == ["1", "2", "3", "4"]
            assert rows.first.get_attribute("data-household-id") == "H_HIGH"
            assert page.locator("#no-home ~ article.household").evaluate_all(
                "rows => rows.map(r => r.dataset.listKey)") == ["child:C6"]
            assert page.evaluate("() => window.__pwned") is None
            names = rows.first.locator(".child-name").all_inner_texts()
            assert names[1] == f"{HOSTILE} {RTL}"
            assert requests == [page_file.as_uri()]  # nothing fetched beyond the file itself
            follow_ups = rows.first.locator("li.follow-up").all_inner_texts()
            assert follow_ups == ["Police to establish where the suspect (N-77, incident I-H_HIGH) lives and whether "
                                  "children live there: no address, or no fixed abode, is recorded on any incident."]
            suspects = page.locator("li.unlocated-suspect")
            assert suspects.evaluate_all("rows => rows.map(r => r.dataset.incidentId)") == ["I-H_HIGH", "I-NOCHILD"]
            assert suspects.first.locator(".on-list").inner_text() == "On today's list: #1"
            assert suspects.nth(1).locator(".on-list").inner_text().startswith("no: the incident reached no known child")
            assert suspects.nth(1).locator(".person-ref").inner_text() == HOSTILE  # shown as text, never run
            # Wide screen: each row's children, rules and agencies sit side by side.
            columns = rows.first.locator(".row-body").evaluate("e => getComputedStyle(e).gridTemplateColumns")
            assert len(columns.split()) == 3
            page.screenshot(path=str(ARTIFACTS / "mash-list-1280.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(ARTIFACTS / "mash-list-print.png"), full_page=True)
            page.pdf(path=str(ARTIFACTS / "mash-list.pdf"), format="A4")

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(page_file.as_uri())
            # Cards, one column, and nothing wider than the screen.
            overflow = phone.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert overflow[0] <= overflow[1], f"page {overflow[0]} px wide in a {overflow[1]} px viewport"
            wide = phone.evaluate(
                "() => Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)"
                ".map(e => e.tagName + '.' + e.className)")
            assert wide == []
            columns = phone.locator("article.household").first.locator(".row-body").evaluate(
                "e => getComputedStyle(e).gridTemplateColumns")
            assert len(columns.split()) == 1
            phone.screenshot(path=str(ARTIFACTS / "mash-list-390.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "mash-list-1280.png").stat().st_size > 0
    assert (ARTIFACTS / "mash-list-390.png").stat().st_size > 0


def test_rules_version_defaults_to_the_one_the_rows_record() -> None:
    mash, flags = frames()
    html, _ = render_report(LIST_DATE, mash.with_columns(rules_version=pl.lit("2026.10-7")), flags,
                            generated_at=datetime(2026, 11, 4, tzinfo=UTC), rules=RULES)
    assert "rules version 2026.10-7" in html
