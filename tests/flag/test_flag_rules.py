"""build_flags: every rule and boundary as a case table, levels, status, decisions, listing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
import pytest
from flag_frames import (
    LIST_DATE,
    PREVIOUS,
    RULES,
    child,
    decision,
    incident,
    link,
    make_inputs,
    nominal,
    noon,
    previous_flag,
    rules,
    years_ago,
)

from pipeline import schemas
from pipeline.flag.calendar import LONDON
from pipeline.flag.flags import build_flags
from pipeline.flag.rules import Rules
from pipeline.outputs.report import render_report

FIVE = years_ago(5)  # a five-year-old: no age rule fires


def flags_of(result_frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["child_id"]: row for row in result_frame.iter_rows(named=True)}


def one_household(incidents: list[dict[str, Any]], *, dob: date = FIVE, rules_: Rules = RULES, **kw: Any):
    inputs = make_inputs(
        incidents=incidents,
        links=[link(i["incident_id"], "H1") for i in incidents],
        children=[child("C1", "H1", dob)],
        **kw,
    )
    return build_flags(inputs, rules_)


# ---- the lookback window ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("days_before", "flagged"),
    [(0, True), (1, True), (364, True), (365, True), (366, False), (-1, False)],
)
def test_lookback_boundary_is_365_days_inclusive(days_before: int, flagged: bool) -> None:
    result = one_household([incident("I1", LIST_DATE - timedelta(days=days_before))])
    assert (result.child_flags.height == 1) is flagged


def test_window_uses_the_london_date_not_the_utc_date() -> None:
    # 23:30 UTC on 30 June 2025 is 00:30 BST on 1 July: 365 days before 1 July 2026, so it counts.
    reported = datetime(2025, 6, 30, 23, 30, tzinfo=UTC)
    result = one_household([incident("I1", reported)], list_date=date(2026, 7, 1),
                           previous_list_date=date(2026, 6, 30))
    assert result.child_flags["child_id"].to_list() == ["C1"]


def test_lookback_is_configurable() -> None:
    old = incident("I1", LIST_DATE - timedelta(days=200))
    assert one_household([old], rules_=rules(lookback_days=180)).child_flags.is_empty()
    assert one_household([old], rules_=rules(lookback_days=200)).child_flags.height == 1


# ---- levels: case table ----------------------------------------------------------------------

def _incidents(n: int, **kw: Any) -> list[dict[str, Any]]:
    return [incident(f"I{i}", LIST_DATE - timedelta(days=10 * i + 1), **kw) for i in range(n)]


LEVEL_CASES = [
    ("one standard incident", _incidents(1), RULES, "standard", ["DA_IN_HOUSEHOLD"]),
    ("DASH not assessed", _incidents(1, dash="not_assessed"), RULES, "standard", ["DA_IN_HOUSEHOLD"]),
    ("DASH high", _incidents(1, dash="high"), RULES, "high", ["DA_IN_HOUSEHOLD", "DASH_HIGH"]),
    ("DASH medium", _incidents(1, dash="medium"), RULES, "medium", ["DA_IN_HOUSEHOLD", "DASH_MEDIUM"]),
    ("children present", _incidents(1, present="yes"), RULES, "medium", ["DA_IN_HOUSEHOLD", "CHILDREN_PRESENT"]),
    ("children presence unknown", _incidents(1, present="unknown"), RULES, "standard", ["DA_IN_HOUSEHOLD"]),
    ("exactly 2 incidents", _incidents(2), RULES, "medium", ["DA_IN_HOUSEHOLD", "TWO_INCIDENTS"]),
    ("3 incidents", _incidents(3), RULES, "high", ["DA_IN_HOUSEHOLD", "REPEAT_INCIDENTS"]),
    ("4 incidents", _incidents(4), RULES, "high", ["DA_IN_HOUSEHOLD", "REPEAT_INCIDENTS"]),
    ("3 incidents, threshold 5", _incidents(3), rules(repeat_incidents_min=5), "medium",
     ["DA_IN_HOUSEHOLD", "TWO_INCIDENTS"]),
    ("5 incidents, threshold 5", _incidents(5), rules(repeat_incidents_min=5), "high",
     ["DA_IN_HOUSEHOLD", "REPEAT_INCIDENTS"]),
    ("2 in window + 1 outside", _incidents(2) + [incident("OLD", LIST_DATE - timedelta(days=366))], RULES,
     "medium", ["DA_IN_HOUSEHOLD", "TWO_INCIDENTS"]),
    ("high and medium both explain", [incident("A", LIST_DATE, dash="high"), incident("B", LIST_DATE, dash="medium")],
     RULES, "high", ["DA_IN_HOUSEHOLD", "DASH_HIGH", "DASH_MEDIUM", "TWO_INCIDENTS"]),
]


@pytest.mark.parametrize(("case", "incidents", "rules_", "level", "reasons"), LEVEL_CASES,
                         ids=[c[0] for c in LEVEL_CASES])
def test_levels(case: str, incidents: list[dict[str, Any]], rules_: Rules, level: str, reasons: list[str]) -> None:
    row = flags_of(one_household(incidents, rules_=rules_).child_flags)["C1"]
    assert (row["risk_level"], row["reasons"]) == (level, reasons)


@pytest.mark.parametrize(
    ("dob", "list_date", "under_one"),
    [
        (date(2025, 11, 5), LIST_DATE, True),            # first birthday tomorrow
        (date(2025, 11, 4), LIST_DATE, False),           # first birthday today
        (date(2025, 11, 3), LIST_DATE, False),           # first birthday yesterday
        (date(2026, 11, 4), LIST_DATE, True),            # born today
        (date(2024, 2, 29), date(2025, 2, 28), True),    # leapling: birthday counts as 1 March
        (date(2024, 2, 29), date(2025, 3, 1), False),
    ],
)
def test_under_one_around_the_first_birthday(dob: date, list_date: date, under_one: bool) -> None:
    result = one_household([incident("I1", list_date)], dob=dob, list_date=list_date,
                           previous_list_date=list_date - timedelta(days=1))
    row = flags_of(result.child_flags)["C1"]
    assert ("UNDER_ONE" in row["reasons"]) is under_one
    assert row["risk_level"] == ("high" if under_one else "standard")


# ---- who is reached --------------------------------------------------------------------------

def test_every_child_of_every_household_the_incident_touches() -> None:
    inputs = make_inputs(
        incidents=[incident("I1", LIST_DATE - timedelta(days=2))],
        links=[link("I1", "VICTIM_HOME", "victim", "victim_home"),
               link("I1", "SUSPECT_HOME", "suspect", "suspect_home")],
        children=[
            child("C1", "VICTIM_HOME", FIVE), child("C2", "VICTIM_HOME", years_ago(9)),
            child("C3", "SUSPECT_HOME", years_ago(3)),   # lives with the suspect elsewhere
            child("C4", "GRANDMA", years_ago(7)),         # named at the scene, lives elsewhere
            child("C5", "UNRELATED", years_ago(7)),
        ],
        nominals=[nominal("I1", "N1", "C4")],
    )
    result = build_flags(inputs, RULES)
    flags = flags_of(result.child_flags)
    assert sorted(flags) == ["C1", "C2", "C3", "C4"]
    # The named child was present even though the police recorded children_present = no.
    assert "CHILDREN_PRESENT" in flags["C4"]["reasons"]
    assert "CHILDREN_PRESENT" not in flags["C1"]["reasons"]
    assert sorted(result.mash_list["household_id"].to_list()) == ["GRANDMA", "SUSPECT_HOME", "VICTIM_HOME"]


# ---- status and levels only rise -------------------------------------------------------------

STATUS_CASES = [
    # (case, previous level or None, tonight's rule level via DASH, expected level, status, process reason)
    ("not on previous list", None, "standard", "standard", "new", None),
    ("same level", "standard", "standard", "standard", "continuing", None),
    ("rose", "standard", "high", "high", "escalated", None),
    ("rules fall: level kept", "high", "standard", "high", "continuing", "LEVEL_KEPT"),
    ("medium to high", "medium", "high", "high", "escalated", None),
]


@pytest.mark.parametrize(("case", "previous", "dash", "level", "status", "process"), STATUS_CASES,
                         ids=[c[0] for c in STATUS_CASES])
def test_status_and_levels_only_rise(case: str, previous: str | None, dash: str, level: str, status: str,
                                     process: str | None) -> None:
    prev = [previous_flag("C1", "H1", previous)] if previous else []
    row = flags_of(one_household([incident("I1", LIST_DATE - timedelta(days=30), dash=dash)],
                                 previous_flags=prev).child_flags)["C1"]
    assert (row["risk_level"], row["status"]) == (level, status)
    assert ("LEVEL_KEPT" in row["reasons"]) is (process == "LEVEL_KEPT")


def test_flags_from_an_older_list_date_are_not_the_previous_list() -> None:
    prev = [previous_flag("C1", "H1", "high", on=PREVIOUS - timedelta(days=5))]
    row = flags_of(one_household(_incidents(1), previous_flags=prev).child_flags)["C1"]
    assert (row["risk_level"], row["status"]) == ("standard", "new")


def test_no_previous_list_date_means_everyone_is_new() -> None:
    result = one_household(_incidents(1), previous_list_date=None,
                           previous_flags=[previous_flag("C1", "H1", "high")])
    assert flags_of(result.child_flags)["C1"]["status"] == "new"


# ---- coordinator decisions -------------------------------------------------------------------

PREV_PUBLISHED = datetime.combine(PREVIOUS, time(7), LONDON)


def test_coordinator_decision_after_previous_list_lowers_the_level() -> None:
    decided = (PREV_PUBLISHED + timedelta(hours=3)).astimezone(UTC)
    result = one_household(_incidents(1), previous_flags=[previous_flag("C1", "H1", "high")],
                           decisions=[decision("H1", decided, risk_level="standard")])
    row = flags_of(result.child_flags)["C1"]
    assert (row["risk_level"], row["status"], row["reasons"]) == ("standard", "continuing", ["DA_IN_HOUSEHOLD"])


def test_decision_before_previous_list_does_not_undo_a_later_rise() -> None:
    decided = (PREV_PUBLISHED - timedelta(days=3)).astimezone(UTC)
    result = one_household(_incidents(1), previous_flags=[previous_flag("C1", "H1", "high")],
                           decisions=[decision("H1", decided, risk_level="standard")])
    assert flags_of(result.child_flags)["C1"]["risk_level"] == "high"


def test_coordinator_level_is_a_floor_with_its_own_reason() -> None:
    decided = (PREV_PUBLISHED - timedelta(days=30)).astimezone(UTC)
    result = one_household(_incidents(1), decisions=[decision("H1", decided, risk_level="high")])
    row = flags_of(result.child_flags)["C1"]
    assert row["risk_level"] == "high"
    assert row["reasons"] == ["DA_IN_HOUSEHOLD", "COORDINATOR_LEVEL"]
    detail = result.evidence.filter(pl.col("rule_id") == "COORDINATOR_LEVEL")["detail"].item()
    assert "coordinator.a" in detail and "discussed at MASH" in detail


def test_decision_made_after_publication_is_ignored_on_rerun() -> None:
    published = datetime.combine(LIST_DATE, time(7), LONDON)
    decided = (published + timedelta(hours=1)).astimezone(UTC)
    result = one_household(_incidents(1), decisions=[decision("H1", decided, risk_level="high")])
    assert flags_of(result.child_flags)["C1"]["risk_level"] == "standard"


# ---- the MASH list ---------------------------------------------------------------------------

def test_only_households_with_something_new_are_listed() -> None:
    old = LIST_DATE - timedelta(days=40)
    inputs = make_inputs(
        incidents=[
            incident("NEW", LIST_DATE - timedelta(days=1), first_seen=LIST_DATE),
            incident("QUIET", old),
            incident("ESCALATED", old, dash="high", last_changed=LIST_DATE),  # DASH rose on an update
            incident("OLD_FOR_RISE", old),
        ],
        links=[link("NEW", "H_NEW"), link("QUIET", "H_QUIET"), link("ESCALATED", "H_ESC"),
               link("OLD_FOR_RISE", "H_RISE")],
        children=[child("A", "H_NEW", FIVE), child("B", "H_QUIET", FIVE), child("C", "H_ESC", FIVE),
                  child("D", "H_RISE", date(2026, 10, 1))],  # a baby newly on the register
        previous_flags=[previous_flag("B", "H_QUIET", "standard"), previous_flag("C", "H_ESC", "standard")],
        ever_listed=[{"household_id": "H_QUIET", "max_risk_level": "standard"},
                     {"household_id": "H_ESC", "max_risk_level": "standard"}],
    )
    result = build_flags(inputs, RULES)
    assert sorted(result.child_flags["child_id"]) == ["A", "B", "C", "D"]
    listed = {r["household_id"]: r for r in result.mash_list.iter_rows(named=True)}
    assert sorted(listed) == ["H_ESC", "H_NEW", "H_RISE"]
    assert listed["H_ESC"]["incident_ids"] == ["ESCALATED"]
    assert listed["H_ESC"]["risk_level"] == "high" and listed["H_ESC"]["new_since_previous"]
    assert flags_of(result.child_flags)["C"]["status"] == "escalated"
    assert listed["H_NEW"]["incident_ids"] == ["NEW"] and listed["H_NEW"]["new_since_previous"]
    # Listed for the rise alone: shows the incidents behind the flag.
    assert listed["H_RISE"]["incident_ids"] == ["OLD_FOR_RISE"]


def test_listed_incidents_are_only_the_new_ones() -> None:
    inputs = make_inputs(
        incidents=[incident("OLD", LIST_DATE - timedelta(days=50)),
                   incident("NEW", LIST_DATE - timedelta(days=1), first_seen=LIST_DATE)],
        links=[link("OLD", "H1"), link("NEW", "H1")],
        children=[child("C1", "H1", FIVE)],
        previous_flags=[previous_flag("C1", "H1", "standard")],
        ever_listed=[{"household_id": "H1", "max_risk_level": "medium"}],
    )
    result = build_flags(inputs, RULES)
    row = result.mash_list.row(0, named=True)
    assert row["incident_ids"] == ["NEW"]
    assert flags_of(result.child_flags)["C1"]["incident_ids"] == ["NEW", "OLD"]
    assert row["risk_level"] == "medium" and row["new_since_previous"] is False  # listed at medium before


def _household(hh: str, dash: str, days_ago: int, dob: date, *, pin_decision: bool = False) -> dict[str, Any]:
    return {"incident": incident(f"I-{hh}", LIST_DATE - timedelta(days=days_ago), dash=dash, first_seen=LIST_DATE),
            "link": link(f"I-{hh}", hh), "child": child(f"C-{hh}", hh, dob)}


def _priorities(households: list[dict[str, Any]], decisions: Sequence[dict[str, Any]] = ()) -> list[str]:
    inputs = make_inputs(incidents=[h["incident"] for h in households], links=[h["link"] for h in households],
                         children=[h["child"] for h in households], decisions=list(decisions))
    mash = build_flags(inputs, RULES).mash_list
    assert mash["priority"].to_list() == list(range(1, mash.height + 1))
    return mash.sort("priority")["household_id"].to_list()


def test_priority_order_level_then_recency_then_youngest_then_id() -> None:
    households = [
        _household("H_STD", "standard", 1, FIVE),
        _household("H_MED", "medium", 1, FIVE),
        _household("H_HIGH_OLDER", "high", 9, FIVE),
        _household("H_HIGH_RECENT", "high", 2, FIVE),
        _household("H_HIGH_RECENT_YOUNGER", "high", 2, years_ago(2)),
        _household("H_HIGH_RECENT_B", "high", 2, years_ago(2)),
    ]
    assert _priorities(households) == [
        "H_HIGH_RECENT_B", "H_HIGH_RECENT_YOUNGER", "H_HIGH_RECENT", "H_HIGH_OLDER", "H_MED", "H_STD",
    ]


def test_coordinator_priority_pins_are_honoured_first() -> None:
    households = [_household("H_STD", "standard", 1, FIVE), _household("H_MED", "medium", 1, FIVE),
                  _household("H_HIGH", "high", 1, FIVE)]
    decided = (PREV_PUBLISHED).astimezone(UTC)
    assert _priorities(households, [decision("H_STD", decided, priority=1)]) == ["H_STD", "H_HIGH", "H_MED"]
    # A pin beyond the list's length goes to the end; two pins on one place keep both, in order.
    assert _priorities(households, [decision("H_HIGH", decided, priority=9)]) == ["H_MED", "H_STD", "H_HIGH"]
    clash = [decision("H_STD", decided, priority=1), decision("H_MED", decided, priority=1)]
    assert _priorities(households, clash) == ["H_MED", "H_STD", "H_HIGH"]


def test_agencies_and_due_by() -> None:
    inputs = make_inputs(
        incidents=[incident("I1", LIST_DATE - timedelta(days=1), dash="medium", first_seen=LIST_DATE)],
        links=[link("I1", "H1")],
        children=[
            child("BABY", "H1", date(2026, 1, 10), gp="D82001", hv_team="Norwich North"),
            child("TODDLER", "H1", years_ago(3), gp="D82001"),          # team unknown
            child("PUPIL", "H1", years_ago(8), gp="D82044", school_urn="121212"),
            child("TEEN", "H1", years_ago(13), school_urn="136000"),
        ],
    )
    row = build_flags(inputs, RULES).mash_list.row(0, named=True)
    assert row["agencies"] == ["police", "school:121212", "school:136000", "gp:D82001", "gp:D82044",
                               "health_visiting", "health_visiting:Norwich North"]
    assert row["risk_level"] == "high"  # the baby
    assert row["due_by"] == datetime(2026, 11, 4, 13, 0, tzinfo=LONDON)


def test_due_by_over_a_weekend() -> None:
    saturday = date(2026, 11, 7)
    result = one_household([incident("I1", saturday, dash="medium")], list_date=saturday,
                           previous_list_date=saturday - timedelta(days=1))
    # 24 working hours from Saturday 07:00: Monday, Tuesday, Wednesday 09:00–17:00.
    assert result.mash_list["due_by"].item() == datetime(2026, 11, 11, 17, 0, tzinfo=LONDON)


# ---- school notifications --------------------------------------------------------------------

def test_school_notifications_for_new_incidents_only_and_without_suspect_details() -> None:
    friday_night = datetime(2026, 11, 6, 23, 0, tzinfo=UTC)  # GMT in November
    inputs = make_inputs(
        list_date=date(2026, 11, 7), previous_list_date=date(2026, 11, 6),
        incidents=[incident("NEW", friday_night, present="yes", first_seen=date(2026, 11, 7)),
                   incident("OLD", date(2026, 10, 1), first_seen=date(2026, 10, 1),
                            last_changed=date(2026, 11, 7), dash="high")],
        links=[link("NEW", "H1"), link("OLD", "H1")],
        children=[child("PUPIL", "H1", years_ago(8), school_urn="121212", upn="A123"),
                  child("NAMED", "H1", years_ago(10), school_urn="121213", upn="B456"),
                  child("BABY", "H1", date(2026, 5, 1))],
        nominals=[nominal("NEW", "N9", "NAMED")],
    )
    notes = build_flags(inputs, RULES).school_notifications
    assert list(notes.schema) == list(schemas.SCHOOL_NOTIFICATIONS)
    assert not {"offence", "suspect", "person_ref", "dash_risk"} & set(notes.columns)
    assert notes.select("child_id", "incident_id", "school_urn", "upn", "child_present").rows() == [
        ("PUPIL", "NEW", "121212", "A123", "unknown"),
        ("NAMED", "NEW", "121213", "B456", "yes"),
    ]
    assert notes["notify_by"].to_list() == [datetime(2026, 11, 9, 8, 30)] * 2


def test_stale_incidents_on_a_first_load_are_not_sent_to_schools() -> None:
    inputs = make_inputs(
        previous_list_date=None,
        incidents=[incident("RECENT", LIST_DATE - timedelta(days=2), first_seen=LIST_DATE),
                   incident("STALE", LIST_DATE - timedelta(days=200), first_seen=LIST_DATE)],
        links=[link("RECENT", "H1"), link("STALE", "H1")],
        children=[child("PUPIL", "H1", years_ago(8), school_urn="121212", upn="A123")],
    )
    notes = build_flags(inputs, RULES).school_notifications
    assert notes["incident_id"].to_list() == ["RECENT"]


# ---- evidence and contract -------------------------------------------------------------------

def test_evidence_one_row_per_child_and_rule() -> None:
    result = one_household([incident("I1", LIST_DATE, dash="high", present="yes")], dob=date(2026, 8, 1))
    ev = result.evidence
    assert ev["rule_id"].to_list() == ["DA_IN_HOUSEHOLD", "DASH_HIGH", "UNDER_ONE", "CHILDREN_PRESENT"]
    assert set(ev["rules_version"]) == {RULES.version}
    assert ev.filter(pl.col("rule_id") == "DASH_HIGH")["detail"].item() == "Incident(s) I1 assessed DASH high."
    assert all(d.endswith(".") and len(d) > 20 for d in ev["detail"])


def test_outputs_follow_the_contract_exactly() -> None:
    result = one_household(_incidents(2))
    for frame, schema in [(result.child_flags, schemas.CHILD_FLAGS), (result.mash_list, schemas.MASH_LIST),
                          (result.school_notifications, schemas.SCHOOL_NOTIFICATIONS),
                          (result.evidence, schemas.FLAG_EVIDENCE)]:
        assert frame.schema == pl.Schema(schema)
    assert result.child_flags["rules_version"].to_list() == [RULES.version]


def test_empty_night() -> None:
    result = build_flags(make_inputs(), RULES)
    assert all(f.is_empty() for f in (result.child_flags, result.mash_list,
                                       result.school_notifications, result.evidence))
    assert result.mash_list.schema == pl.Schema(schemas.MASH_LIST)


def test_inputs_are_not_mutated() -> None:
    inputs = make_inputs(incidents=_incidents(2), links=[link("I0", "H1"), link("I1", "H1")],
                         children=[child("C1", "H1", FIVE)])
    before = inputs.children.clone()
    build_flags(inputs, RULES)
    assert inputs.children.equals(before)


# ---- seed scenarios --------------------------------------------------------------------------

def test_scenario_R_father_assaults_mother_baby_on_health_register_only() -> None:
    inputs = make_inputs(
        incidents=[incident("R-1", LIST_DATE - timedelta(days=1), dash="standard", first_seen=LIST_DATE,
                            offence="Assault by beating")],
        links=[link("R-1", "H_R", "victim", "victim_home"), link("R-1", "H_R", "suspect", "suspect_home")],
        children=[child("BABY_R", "H_R", date(2026, 6, 20), forename="Ava", surname="Reed",
                        nhs="9434765919", gp="D82001", hv_team="Norwich North")],
    )
    result = build_flags(inputs, RULES)
    baby = flags_of(result.child_flags)["BABY_R"]
    assert baby["risk_level"] == "high" and "UNDER_ONE" in baby["reasons"]
    assert (baby["nhs_number"], baby["upn"], baby["status"]) == ("9434765919", None, "new")
    row = result.mash_list.row(0, named=True)
    assert row["household_id"] == "H_R" and row["child_ids"] == ["BABY_R"]
    assert "health_visiting:Norwich North" in row["agencies"] and "gp:D82001" in row["agencies"]
    assert result.school_notifications.is_empty()


def test_scenario_S_stepfather_and_a_three_year_old_with_no_school() -> None:
    inputs = make_inputs(
        incidents=[incident("S-1", LIST_DATE - timedelta(days=1), dash="medium", first_seen=LIST_DATE)],
        links=[link("S-1", "H_S", "victim", "victim_home"), link("S-1", "H_S", "suspect", "suspect_home")],
        nominals=[nominal("S-1", "S-SUSPECT", None, role="suspect", household_id="H_S")],
        children=[child("KID_S", "H_S", years_ago(3), forename="Leo", surname="Smith", nhs="4010232137",
                        gp="D82044", hv_team="Norwich South")],
    )
    result = build_flags(inputs, RULES)
    kid = flags_of(result.child_flags)["KID_S"]
    assert (kid["risk_level"], kid["school_urn"]) == ("medium", None)
    row = result.mash_list.row(0, named=True)
    assert row["child_ids"] == ["KID_S"]
    assert row["agencies"] == ["police", "gp:D82044", "health_visiting:Norwich South"]
    assert result.school_notifications.is_empty()


# ---- follow-ups ------------------------------------------------------------------------------

def test_a_suspect_with_no_known_home_is_a_follow_up_on_the_victims_household() -> None:
    day = LIST_DATE - timedelta(days=1)
    inputs = make_inputs(
        incidents=[incident("F-1", day, first_seen=LIST_DATE), incident("F-2", day, first_seen=LIST_DATE),
                   incident("F-3", day, first_seen=LIST_DATE)],
        links=[link("F-1", "H_V1"), link("F-2", "H_V2"), link("F-3", "H_V3"),
               # F-3's suspect gave no address there, but did on another incident (known_home)
               {**link("F-3", "H_ELSEWHERE", "suspect", "known_home"), "person_ref": "F-3-SUSPECT"}],
        nominals=[nominal("F-1", "F-1-SUSPECT", None, role="suspect", household_id=None),      # unknown
                  nominal("F-2", "F-2-SUSPECT", None, role="suspect", household_id="H_S2"),    # has a home
                  nominal("F-3", "F-3-SUSPECT", None, role="suspect", household_id=None),      # known elsewhere
                  nominal("F-1", "F-1-VICTIM", None, role="victim", household_id=None)],       # victims: not asked
        children=[child("K1", "H_V1", FIVE), child("K2", "H_V2", FIVE), child("K3", "H_V3", FIVE)],
    )
    result = build_flags(inputs, RULES)
    follow_ups = {r["household_id"]: r["follow_ups"] for r in result.mash_list.iter_rows(named=True)}
    assert follow_ups == {"H_V1": ["SUSPECT_HOME_UNKNOWN:F-1/F-1-SUSPECT"], "H_V2": [], "H_V3": []}
    html, csv_text = render_report(LIST_DATE, result.mash_list, result.child_flags,
                                   generated_at=noon(LIST_DATE), rules=RULES)
    assert "Police to establish where the suspect (F-1-SUSPECT, incident F-1) lives" in html
    assert "F-1-SUSPECT" in csv_text and ",follow_ups," in csv_text.splitlines()[0]


def test_follow_ups_outside_the_lookback_window_are_not_asked() -> None:
    old = LIST_DATE - timedelta(days=RULES.lookback_days + 1)
    inputs = make_inputs(
        incidents=[incident("OLD", old, first_seen=old), incident("NEW", LIST_DATE - timedelta(days=1))],
        links=[link("OLD", "H1"), link("NEW", "H1")],
        nominals=[nominal("OLD", "OLD-SUSPECT", None, role="suspect")],
        children=[child("K1", "H1", FIVE)],
    )
    assert build_flags(inputs, RULES).mash_list["follow_ups"].to_list() == [[]]


def test_unlocated_suspects_include_incidents_that_reached_no_child() -> None:
    day = LIST_DATE - timedelta(days=1)
    inputs = make_inputs(
        incidents=[incident("U-1", day, first_seen=LIST_DATE), incident("U-2", day, first_seen=LIST_DATE),
                   incident("U-OLD", LIST_DATE - timedelta(days=30), dash="high", first_seen=LIST_DATE - timedelta(days=30))],
        links=[link("U-1", "H_KIDS"), link("U-2", "H_NO_KIDS"), link("U-OLD", "H_NO_KIDS")],
        nominals=[nominal("U-1", "U-1-S", None, role="suspect"), nominal("U-2", "U-2-S", None, role="suspect"),
                  nominal("U-OLD", "U-OLD-S", None, role="suspect")],
        children=[child("K1", "H_KIDS", FIVE)],
    )
    result = build_flags(inputs, RULES)
    assert result.mash_list["household_id"].to_list() == ["H_KIDS"]
    rows = {r["incident_id"]: r for r in result.unlocated_suspects.iter_rows(named=True)}
    assert set(rows) == {"U-1", "U-2", "U-OLD"}
    assert rows["U-1"]["listed_households"] == ["H_KIDS"] and rows["U-2"]["listed_households"] == []
    assert (rows["U-2"]["new_since_previous"], rows["U-OLD"]["new_since_previous"]) == (True, False)
    assert (rows["U-2"]["person_ref"], rows["U-2"]["person_id"]) == ("U-2-S", "P-U-2-S")
    assert result.unlocated_suspects.schema == pl.Schema(schemas.UNLOCATED_SUSPECTS)
    assert build_flags(make_inputs(), RULES).unlocated_suspects.schema == pl.Schema(schemas.UNLOCATED_SUSPECTS)


def test_an_address_conflict_is_a_follow_up_on_both_households() -> None:
    day = LIST_DATE - timedelta(days=1)
    inputs = make_inputs(
        incidents=[incident("A-1", day, first_seen=LIST_DATE)],
        # Police keyed the victim at H_KEYED; the incident happened at H_SCENE, also a home of
        # the family's children; the evidence could not tell which is hers.
        links=[{**link("A-1", "H_KEYED"), "person_ref": "A-1-V"},
               {**link("A-1", "H_SCENE", "victim", "address_conflict"), "person_ref": "A-1-V"}],
        nominals=[nominal("A-1", "A-1-V", None, role="victim", household_id="H_KEYED")],
        children=[child("K1", "H_KEYED", FIVE), child("K2", "H_SCENE", FIVE)],
    )
    result = build_flags(inputs, RULES)
    follow_ups = {r["household_id"]: r["follow_ups"] for r in result.mash_list.iter_rows(named=True)}
    assert follow_ups == {"H_KEYED": ["ADDRESS_CONFLICT:A-1/A-1-V"], "H_SCENE": ["ADDRESS_CONFLICT:A-1/A-1-V"]}
    assert result.unlocated_suspects.is_empty()
    conflicts = pl.DataFrame([{
        "follow_up": "ADDRESS_CONFLICT:A-1/A-1-V", "incident_id": "A-1", "person_ref": "A-1-V", "role": "victim",
        "keyed_address": "3 Elm Road", "keyed_postcode": "NR5 3CD",
        "incident_address": "14 Rose Lane", "incident_postcode": "NR5 2AB",
    }])
    html, csv_text = render_report(LIST_DATE, result.mash_list, result.child_flags,
                                   generated_at=noon(LIST_DATE), rules=RULES, address_conflicts=conflicts)
    sentence = ("Address conflict: police keyed 3 Elm Road, NR5 3CD for the victim (A-1-V, incident A-1), "
                "incident at 14 Rose Lane, NR5 2AB.")
    assert sentence in html and sentence in csv_text
