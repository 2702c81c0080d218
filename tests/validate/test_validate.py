"""validate_delivery through the real read_delivery path: each defect's message, quarantine
row (original text), dq_results row, and that the good rows still arrive."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from stdnum.gb import upn as stdnum_upn

from pipeline import schemas
from pipeline.config import PROJECT_ROOT
from pipeline.ingest.delivery import read_delivery
from pipeline.validate.checks import (
    ValidationContext,
    ValidationOutcome,
    _gx_runner,
    build_data_docs,
    validate_delivery,
)

DAY = date(2026, 11, 20)
UPN = "B801200005001"
UPN2 = stdnum_upn.calc_check_digit("801200005002") + "801200005002"
COLUMNS = {
    "health_register": "nhs_number,forename,surname,dob,address_line1,postcode,gp_practice_code,gender",
    "school_census": "upn,forename,surname,dob,address_line1,postcode,school_urn,school_name,year_group",
    "police_incidents": "incident_id,reported_at,updated_at,dash_risk,children_present,address_line1,postcode",
    "police_persons": "incident_id,person_ref,role,forename,surname,dob,gender,relationship_to_victim",
}
GOOD = {
    "health_register": "943 476 5919,Zoë,Smith,2015-01-02,1 High St,nr13qh,D82001,F",
    "school_census": f"{UPN.lower()},Siân,Jones,02/01/2015,1 High St,NR1 3QH,123456,Hill School,R",
    "police_incidents": "I1,2026-07-01T10:00:00,2026-07-02T09:30:00+01:00,High,Yes,2 Low Rd,NR2 4AB",
    "police_persons": "I1,P1,victim,Ann,Smith,1990-05-06,f,self",
}
LOOSE = {"police_max_reject_share": 1.0}


def deliver(tmp_path: Path, files: dict[str, str | bytes], **context: object) -> ValidationOutcome:
    folder = tmp_path / "landing" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for source, content in files.items():
        path = folder / f"{source}.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    delivery = read_delivery(tmp_path / "landing", DAY)
    assert delivery.problems == []
    outcome = validate_delivery(delivery, ValidationContext(run_date=DAY, **context))  # type: ignore[arg-type]
    for source, count in outcome.counts.items():
        assert count["delivered"] == count["staged"] + count["quarantined"], source
    return outcome


def csv_of(source: str, *rows: str) -> str:
    return "\n".join([COLUMNS[source], *rows]) + "\n"


def test_suites_load_every_expectation_including_custom_ones() -> None:
    runner = _gx_runner(PROJECT_ROOT / "expectations")
    for source in schemas.SOURCES:
        document = json.loads((PROJECT_ROOT / "expectations" / f"{source}.json").read_text())
        assert len(runner.suites[source].expectations) == len(document["expectations"]) > 10


def test_good_rows_are_typed_trimmed_and_normalised(tmp_path: Path) -> None:
    outcome = deliver(tmp_path, {s: csv_of(s, GOOD[s]) for s in COLUMNS})
    assert outcome.quarantine.height == 0 and outcome.batch_failures == [] and outcome.messages == []
    for source, frame in outcome.staged.items():
        assert dict(frame.schema) == dict(pl.Schema(schemas.STAGED[source])), source
    health = outcome.staged["health_register"].row(0, named=True)
    assert (health["nhs_number"], health["gender"], health["dob"]) == ("9434765919", "f", date(2015, 1, 2))
    assert health["postcode"] == "nr13qh"  # postcodes are standardise's job
    census = outcome.staged["school_census"].row(0, named=True)
    assert (census["upn"], census["dob"]) == (UPN, date(2015, 1, 2))
    incident = outcome.staged["police_incidents"].row(0, named=True)
    # Europe/London wall clock in July is BST (UTC+1); an explicit offset is honoured
    assert incident["reported_at"] == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert incident["updated_at"] == datetime(2026, 7, 2, 8, 30, tzinfo=UTC)
    assert (incident["dash_risk"], incident["children_present"]) == ("high", "yes")
    assert outcome.dq_results.filter(~pl.col("success")).height == 0
    assert set(outcome.dq_results["suite"]) == {*COLUMNS, "hearth.validate"}


def test_windows_1252_names_arrive_intact(tmp_path: Path) -> None:
    content = csv_of("health_register", GOOD["health_register"]).replace("\n", "\r\n").encode("cp1252")
    outcome = deliver(tmp_path, {"health_register": content})
    assert outcome.staged["health_register"]["forename"].to_list() == ["Zoë"]


# (source, column, bad value, expected message after "<file> row 2, column <column>: ")
RULES = [
    ("health_register", "nhs_number", "1234567890", "'1234567890' fails the Modulus 11 check"),
    ("health_register", "nhs_number", "999 000 0018", "'999 000 0018' is in the 999 test range, not a real patient's number"),
    ("health_register", "nhs_number", "12345", "'12345' does not have 10 digits"),
    ("health_register", "nhs_number", "NULL", "required value is missing"),
    ("health_register", "forename", " ", "required value is missing"),
    ("health_register", "gender", "female", "'female' is not one of f, m, x, u"),
    ("health_register", "postcode", "NR1 3Q", "'NR1 3Q' is not a UK postcode"),
    ("health_register", "dob", "2015-02-30", "'2015-02-30' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ("health_register", "dob", "2014-02-29", "'2014-02-29' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ("health_register", "dob", "", "required value is missing"),
    ("health_register", "dob", "2026-11-21", "'2026-11-21' is in the future (run date 2026-11-20)"),
    ("health_register", "dob", "20/11/2007", "'20/11/2007' is before 2007-11-21: older than 18 on the run date 2026-11-20"),
    ("health_register", "gp_practice_code", "82001", "'82001' is not a GP practice ODS code (a letter and 5 digits)"),
    ("school_census", "upn", "A801200005001", "'A801200005001' fails the UPN check letter"),
    ("school_census", "upn", "B000200005001", "'B000200005001' has an unknown local authority number (characters 2–4)"),
    ("school_census", "school_urn", "12345", "'12345' is not a school URN (6 digits)"),
    ("school_census", "year_group", "14", "'14' is not a year group (R, 1 to 13)"),
    ("police_incidents", "dash_risk", "severe", "'severe' is not one of standard, medium, high, not_assessed"),
    ("police_incidents", "reported_at", "01/07/2026 10:00", "'01/07/2026 10:00' is not an ISO 8601 date-time that exists in Europe/London"),
    ("police_incidents", "reported_at", "2026-03-29T01:30:00", "'2026-03-29T01:30:00' is not an ISO 8601 date-time that exists in Europe/London"),
    ("police_incidents", "reported_at", "2026-11-21T00:30:00", "'2026-11-21T00:30:00' is after the run date 2026-11-20"),
    ("police_persons", "role", "bystander", "'bystander' is not one of victim, suspect, child, witness, other"),
    ("police_persons", "dob", "2027-01-01", "'2027-01-01' is in the future (run date 2026-11-20)"),
    ("police_persons", "dob", "31/02/1990", "'31/02/1990' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ("police_persons", "incident_id", "I404", "'I404' is not an incident in this delivery or in the warehouse"),
    ("health_register", "forename", "Ivy\x1b]0;x\x07", "'Ivy\x1b]0;x\x07' contains a control character (such as NUL or ESC), which no name has"),
    ("school_census", "surname", "Finch\x1b[2J", "'Finch\x1b[2J' contains a control character (such as NUL or ESC), which no name has"),
    ("police_persons", "surname", "Ma\x00rsh", "'Ma\x00rsh' contains a control character (such as NUL or ESC), which no name has"),
]


# A second identifier, so that a row with one bad field is not also a duplicate key.
OTHER_ID = {"health_register": ("943 476 5919", "401 023 2137"), "school_census": (UPN.lower(), UPN2)}


def _bad_row(source: str, column: str, value: str) -> str:
    position = COLUMNS[source].split(",").index(column)
    fields = GOOD[source].split(",")
    fields[position] = value
    row = ",".join(fields)
    if source in OTHER_ID and column not in ("nhs_number", "upn"):
        row = row.replace(*OTHER_ID[source], 1)
    return row


def _is_field_level(source: str, column: str) -> bool:
    return source in schemas.REGISTER_SOURCES or (source, column) == ("police_persons", "dob")


@pytest.mark.parametrize(("source", "column", "value", "message"), [r for r in RULES if not _is_field_level(r[0], r[1])])
def test_row_rule_quarantines_row_with_original_text(
    tmp_path: Path, source: str, column: str, value: str, message: str
) -> None:
    files = {source: csv_of(source, GOOD[source], _bad_row(source, column, value))}
    if source == "police_persons":
        files["police_incidents"] = csv_of("police_incidents", GOOD["police_incidents"])
    if source == "police_incidents":  # keep the good row's id unique
        files[source] = csv_of(source, GOOD[source], _bad_row(source, column, value).replace("I1,", "I2,", 1))
    outcome = deliver(tmp_path, files, **LOOSE)

    assert outcome.messages == [
        f"{source}.csv row 2, column {column}: {message} — row quarantined (audit.quarantine)"
    ]
    quarantined = outcome.quarantine.row(0, named=True)
    assert (quarantined["source"], quarantined["_file"], quarantined["_row"]) == (source, f"{source}.csv", 2)
    assert quarantined["reasons"] == [f"{column}: {message}"]
    assert json.loads(quarantined["record"])[column] == value  # verbatim, untrimmed
    assert outcome.staged[source]["_row"].to_list() == [1]
    assert outcome.field_defects.height == 0
    failed = outcome.dq_results.filter(~pl.col("success") & (pl.col("source") == source))
    check = failed.filter(pl.col("suite") == source).row(0, named=True)
    assert (check["column_name"], check["unexpected_count"], check["element_count"]) == (column, 1, 2)
    if len(value.strip()) > 3 and column not in ("dob", "reported_at"):
        assert value not in check["details"]  # dq_results never carry row values


@pytest.mark.parametrize(("source", "column", "value", "message"), [r for r in RULES if _is_field_level(r[0], r[1])])
def test_field_rule_withholds_the_value_and_stages_the_row(
    tmp_path: Path, source: str, column: str, value: str, message: str
) -> None:
    files = {source: csv_of(source, GOOD[source], _bad_row(source, column, value))}
    if source == "police_persons":
        files["police_incidents"] = csv_of("police_incidents", GOOD["police_incidents"])
        files[source] = csv_of(source, GOOD[source], _bad_row(source, column, value).replace(",P1,", ",P2,", 1))
    outcome = deliver(tmp_path, files, **LOOSE)

    assert outcome.messages == [
        f"{source}.csv row 2, column {column}: {message} — value withheld, row staged (audit.field_defects)"
    ]
    assert outcome.quarantine.height == 0
    staged = outcome.staged[source].sort("_row")
    assert staged["_row"].to_list() == [1, 2]
    assert staged[column][1] is None and staged[column][0] is not None
    assert outcome.counts[source] == {
        "delivered": 2, "staged": 2, "quarantined": 0, "field_defects": 1, "rows_with_field_defects": 1,
    }
    defect = outcome.field_defects.row(0, named=True)
    assert (defect["source"], defect["_file"], defect["_row"], defect["column_name"]) == (
        source, f"{source}.csv", 2, column,
    )
    assert defect["reason"] == message.replace(f"'{value}' ", "", 1)
    if value.strip():
        assert value.strip() not in defect["reason"]  # audit keeps the reason, never the value
    failed = outcome.dq_results.filter(~pl.col("success") & (pl.col("suite") == source)).row(0, named=True)
    assert (failed["column_name"], failed["unexpected_count"], failed["element_count"]) == (column, 1, 2)


# (row, what is left of it, expected reasons) for register rows that cannot identify a child.
UNIDENTIFIABLE = [
    (",,Smith,2015-01-02,1 High St,nr13qh,D82001,F".replace(",,Smith", "943 476 5919,,"),
     ["forename: required value is missing", "surname: required value is missing",
      "row cannot identify a child: neither forename nor surname is usable"]),
    ("1234567890,Zoë,Smith,2015-02-30,1 High St,nr13qh,D82001,F",
     ["nhs_number: '1234567890' fails the Modulus 11 check",
      "dob: '2015-02-30' is not a date (YYYY-MM-DD or DD/MM/YYYY)",
      "row cannot identify a child: neither nhs_number nor dob is usable"]),
    (",Zoë,Smith,,1 High St,nr13qh,D82001,F",
     ["nhs_number: required value is missing", "dob: required value is missing",
      "row cannot identify a child: neither nhs_number nor dob is usable"]),
]


@pytest.mark.parametrize(("row", "reasons"), UNIDENTIFIABLE)
def test_register_row_that_cannot_identify_a_child_is_quarantined_whole(
    tmp_path: Path, row: str, reasons: list[str]
) -> None:
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register", row)})
    assert outcome.staged["health_register"].height == 0 and outcome.field_defects.height == 0
    quarantined = outcome.quarantine.row(0, named=True)
    assert sorted(quarantined["reasons"]) == sorted(reasons)  # every reason, field-level ones too
    assert outcome.messages[0].endswith("— row quarantined (audit.quarantine)")
    identifies = outcome.dq_results.filter(pl.col("expectation") == "hearth_register_rows_identify_a_child").row(0, named=True)
    assert (identifies["success"], identifies["unexpected_count"]) == (False, 1)


def test_bad_identifier_with_a_name_and_dob_is_staged_under_a_stable_substitute_id(tmp_path: Path) -> None:
    bad_nhs = "9434765918,Bad,Checksum,2016-03-04,2 High St,NR1 3QH,D82001,m"
    census = f"{UPN[:-1]}X,Siân,Jones,02/01/2015,1 High St,NR1 3QH,123456,Hill School,R"
    first = deliver(tmp_path / "a", {
        "health_register": csv_of("health_register", GOOD["health_register"], bad_nhs),
        "school_census": csv_of("school_census", census),
    })
    # Another night, other rows around it, the identifier spaced differently: the same id.
    second = deliver(tmp_path / "b", {
        "health_register": csv_of("health_register", "943 476 5918,Bad,Checksum,2016-03-04,2 High St,NR1 3QH,D82001,m"),
        "school_census": csv_of("school_census", census),
    })
    for outcome in (first, second):
        health = outcome.staged["health_register"].filter(pl.col("forename") == "Bad").row(0, named=True)
        assert health["nhs_number"] is None  # never linked or guarded on
        assert health["substitute_id"].startswith("withheld-")
        school = outcome.staged["school_census"].row(0, named=True)
        assert school["upn"] is None and school["substitute_id"].startswith("withheld-")
    ids = [o.field_defects.sort("source")["record_id"].to_list() for o in (first, second)]
    assert ids[0] == ids[1]
    assert ids[0][0].startswith("health_register:withheld-") and ids[0][1].startswith("school_census:withheld-")
    assert "9434765918" not in ids[0][0]
    assert first.staged["health_register"].filter(pl.col("forename") == "Zoë")["substitute_id"].to_list() == [None]


def test_a_bad_identifier_delivered_twice_is_still_a_duplicate_key(tmp_path: Path) -> None:
    bad = "9434765918,Bad,Checksum,2016-03-04,2 High St,NR1 3QH,D82001,m"
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register", bad, bad.replace("Bad,", "Bád,"))})
    assert outcome.staged["health_register"]["_row"].to_list() == [1]
    quarantined = outcome.quarantine.row(0, named=True)
    assert quarantined["_row"] == 2
    assert any("(stands in for an unusable nhs_number) is also on row 1" in r for r in quarantined["reasons"])


def test_duplicate_key_keeps_the_row_with_fewer_withheld_values(tmp_path: Path) -> None:
    without_dob = GOOD["health_register"].replace("2015-01-02", "")
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register", without_dob, GOOD["health_register"])})
    staged = outcome.staged["health_register"]
    assert staged["_row"].to_list() == [2] and staged["dob"].to_list() == [date(2015, 1, 2)]
    assert outcome.field_defects.height == 0  # the row that lost its dob was not staged
    assert outcome.quarantine["_row"].to_list() == [1]


@pytest.mark.parametrize("postcode", ["nr1 3qh", "NR13QH", " SW1A  1AA ", "ZZ99 3VZ", "zz993vz", "GIR 0AA"])
def test_postcode_in_any_case_and_spacing_and_pseudo_postcodes_pass(tmp_path: Path, postcode: str) -> None:
    row = GOOD["health_register"].replace("nr13qh", postcode)
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register", row)})
    assert outcome.quarantine.height == 0


def test_person_on_known_or_quarantined_incident(tmp_path: Path) -> None:
    outcome = deliver(
        tmp_path,
        {
            "police_incidents": csv_of("police_incidents", GOOD["police_incidents"], "I2,bad,2026-07-02T10:00:00,high,yes,2 Low Rd,"),
            "police_persons": csv_of("police_persons", GOOD["police_persons"], "I0,P2,suspect,Bob,Smith,,m,partner", "I2,P3,child,Cy,Smith,,,child"),
        },
        known_incident_ids=frozenset({"I0"}), **LOOSE,
    )
    assert outcome.staged["police_persons"]["person_ref"].to_list() == ["P1", "P2"]
    assert outcome.messages[-1] == (
        "police_persons.csv row 3, column incident_id: 'I2' is on police_incidents row 2, "
        "which was quarantined — row quarantined (audit.quarantine)"
    )


def test_unreadable_record_is_quarantined_whole(tmp_path: Path) -> None:
    content = csv_of("health_register", GOOD["health_register"], GOOD["health_register"] + ",x,y")
    outcome = deliver(tmp_path, {"health_register": content})
    row = outcome.quarantine.row(0, named=True)
    assert row["reasons"] == ["unreadable record: has 10 fields but the header has 8 (an unquoted comma?)"]
    assert json.loads(row["record"]) == {"_raw_line": GOOD["health_register"] + ",x,y"}
    assert outcome.counts["health_register"] == {
        "delivered": 2, "staged": 1, "quarantined": 1, "field_defects": 0, "rows_with_field_defects": 0,
    }


def test_truncated_file_quarantines_last_row(tmp_path: Path) -> None:
    content = csv_of("health_register", GOOD["health_register"]) + "4010232137,Ann,Sm"
    outcome = deliver(tmp_path, {"health_register": content})
    assert outcome.messages == [
        "health_register.csv row 2: unreadable record: has 3 of the header's 8 fields: the file "
        "looks truncated mid-row — row quarantined (audit.quarantine)"
    ]


def test_exact_duplicate_and_duplicate_register_keys(tmp_path: Path) -> None:
    other = GOOD["health_register"].replace("Zoë", "Zoe")
    census_dup = GOOD["school_census"].replace("Siân", "Sian")
    outcome = deliver(tmp_path, {
        "health_register": csv_of("health_register", GOOD["health_register"], GOOD["health_register"], other),
        "school_census": csv_of("school_census", GOOD["school_census"], census_dup, GOOD["school_census"].replace(UPN.lower(), UPN2)),
    })
    assert outcome.messages == [
        f"school_census.csv row 2, column upn: '{UPN}' is also on row 1, which was kept "
        "(the first row of a duplicated key is kept, rows with fewer withheld values first) — row quarantined (audit.quarantine)",
        "health_register.csv row 2: exact duplicate of row 1 — row quarantined (audit.quarantine)",
        "health_register.csv row 3, column nhs_number: '9434765919' is also on row 1, "
        "which was kept (the first row of a duplicated key is kept, rows with fewer withheld values first) — row quarantined (audit.quarantine)",
    ]
    assert outcome.staged["health_register"]["_row"].to_list() == [1]
    assert outcome.staged["school_census"]["_row"].to_list() == [1, 3]
    dups = outcome.dq_results.filter(pl.col("expectation") == "hearth_key_is_unique")
    assert dict(zip(dups["source"], dups["unexpected_count"], strict=True)) == {"school_census": 1, "health_register": 1}


def test_incident_updates_keep_latest_updated_at(tmp_path: Path) -> None:
    rows = [
        "I1,2026-07-01T10:00:00,2026-07-03T10:00:00,medium,yes,2 Low Rd,",
        "I1,2026-07-01T10:00:00,2026-07-05T10:00:00,high,yes,2 Low Rd,",
        "I1,2026-07-01T10:00:00,2026-07-04T10:00:00,standard,yes,2 Low Rd,",
    ]
    outcome = deliver(tmp_path, {"police_incidents": csv_of("police_incidents", *rows)}, **LOOSE)
    assert outcome.staged["police_incidents"]["dash_risk"].to_list() == ["high"]
    assert outcome.quarantine["reasons"].to_list() == [
        ["incident_id: 'I1' is also on row 2, which has the latest updated_at and was kept"]
    ] * 2


def test_register_drop_beyond_threshold_is_a_batch_failure(tmp_path: Path) -> None:
    outcome = deliver(
        tmp_path, {"health_register": csv_of("health_register", GOOD["health_register"])},
        previous_register_counts={"health_register": 10}, register_max_drop_share=0.1,
    )
    assert outcome.batch_failures == [
        "health_register.csv of 2026-11-20 has 1 valid rows, 90.0% fewer than the previous "
        "snapshot's 10 (limit 10%): check the extract with its sender; if the fall is real, "
        "rerun with a higher ingest.register_max_drop_share"
    ]
    check = outcome.dq_results.filter(pl.col("expectation") == "hearth_register_row_count_not_dropping")
    assert check["success"].to_list() == [False]


def test_header_only_register_fails_drop_check_and_within_threshold_passes(tmp_path: Path) -> None:
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register")}, previous_register_counts={"health_register": 5})
    assert len(outcome.batch_failures) == 1 and outcome.staged["health_register"].height == 0
    ok = deliver(tmp_path, {"health_register": csv_of("health_register", GOOD["health_register"])},
                 previous_register_counts={"health_register": 1})
    assert ok.batch_failures == []


@pytest.mark.parametrize(
    ("share", "min_rejects", "fails"),
    [(0.5, 1, False), (0.49, 1, True), (0.49, 2, False)],  # 1 of 2 rows rejected
)
def test_police_reject_share(tmp_path: Path, share: float, min_rejects: int, fails: bool) -> None:
    rows = [GOOD["police_incidents"], "I2,2026-07-01T10:00:00,2026-07-02T10:00:00,bad,yes,2 Low Rd,"]
    outcome = deliver(tmp_path, {"police_incidents": csv_of("police_incidents", *rows)},
                      police_max_reject_share=share, police_min_rejects=min_rejects)
    assert bool(outcome.batch_failures) is fails
    check = outcome.dq_results.filter(pl.col("expectation") == "hearth_police_reject_share_below_limit")
    assert check["success"].to_list() == [not fails]


def test_parquet_delivery_validates_like_csv(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / DAY.isoformat()
    folder.mkdir(parents=True)
    pl.read_csv(csv_of("health_register", GOOD["health_register"]).encode(), infer_schema=False).with_columns(
        pl.lit("kept in raw").alias("extra_note")
    ).write_parquet(folder / "health_register.parquet")
    delivery = read_delivery(tmp_path / "landing", DAY)
    assert delivery.files["health_register"].extra_columns == ["extra_note"]
    outcome = validate_delivery(delivery, ValidationContext(run_date=DAY))
    assert outcome.staged["health_register"]["nhs_number"].to_list() == ["9434765919"]
    assert "extra_note" not in outcome.staged["health_register"].columns


def test_data_docs_are_offline_and_hold_no_values(tmp_path: Path) -> None:
    bad = GOOD["health_register"].replace("943 476 5919", "1234567890")
    outcome = deliver(tmp_path, {"health_register": csv_of("health_register", GOOD["health_register"], bad)})
    page = build_data_docs(tmp_path / "docs", outcome, title="hearth data quality – night of Monday 05 October 2026")
    text = page.read_text()
    assert "<title>hearth data quality – night of Monday 05 October 2026</title>" in text and "http" not in text
    # Failures first, each a sentence rather than raw JSON.
    checks = text[text.index("<ul class=\"checks\">"):]
    first = checks[checks.index("<li"):checks.index("</li>")]
    assert "class='fail'" in first
    assert ("health_register, column nhs_number: every NHS number passes its check digit. Failed: 1 of 2 rows "
            "did not") in first
    assert "{&quot;" not in text and "<code>" not in text
    results = (tmp_path / "docs" / "health_register.json").read_text()
    assert "1234567890" not in results and "9434765919" not in results + text


def test_prefetching_the_suites_leaves_errors_to_validation(tmp_path: Path) -> None:
    from pipeline.validate.checks import prefetch_suites

    broken = tmp_path / "expectations"
    shutil.copytree(PROJECT_ROOT / "expectations", broken)
    document = json.loads((broken / "health_register.json").read_text(encoding="utf-8"))
    document["expectations"].append({"type": "expect_column_values_to_be_a_made_up_rule", "kwargs": {"column": "dob"}})
    (broken / "health_register.json").write_text(json.dumps(document), encoding="utf-8")
    thread = prefetch_suites(broken)
    thread.join(timeout=120)
    assert not thread.is_alive()  # it failed quietly on its own thread …
    with pytest.raises(Exception, match="made_up_rule|expectation type is unknown|loaded"):
        _gx_runner(broken)  # … and validation raises it, where it can be reported
