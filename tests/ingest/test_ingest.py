"""read_delivery: every landing-contract defect gets its own outcome, nothing is dropped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import InputError
from pipeline.ingest.delivery import RAW_LINE, raise_for_problems, read_delivery

DAY = date(2026, 11, 20)
HEALTH_HEADER = "nhs_number,forename,surname,dob,address_line1,postcode,gp_practice_code"
GOOD = "9434765919,Zoë,Smith,2015-01-02,1 High St,NR1 3QH,D82001"


def land(tmp_path: Path, name: str, content: str | bytes) -> Path:
    folder = tmp_path / DAY.isoformat()
    folder.mkdir(exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def health(tmp_path: Path, content: str | bytes):
    land(tmp_path, "health_register.csv", content)
    delivery = read_delivery(tmp_path, DAY)
    assert delivery.problems == [], [str(p) for p in delivery.problems]
    return delivery.files["health_register"]


def test_well_formed_file_is_all_text_with_lineage(tmp_path: Path) -> None:
    landed = health(tmp_path, f"{HEALTH_HEADER}\n{GOOD}\n{GOOD.replace('Zoë', 'Ann')}\n")
    frame = landed.frame
    assert landed.encoding == "utf-8" and landed.format == "csv"
    assert all(dtype == pl.String for name, dtype in frame.schema.items() if name != "_row")
    assert frame.schema["_row"] == pl.Int64
    assert frame["_row"].to_list() == [1, 2]
    assert frame["_file"].to_list() == ["health_register.csv"] * 2
    assert frame["forename"].to_list() == ["Zoë", "Ann"]
    # absent optional columns are present as null, so raw always has every contract column
    assert frame["health_visitor_team"].to_list() == [None, None]
    assert landed.row_problems == [] and frame[RAW_LINE].null_count() == 2


@pytest.mark.parametrize("name", ["Zoë", "Siân", "Chloé O'Brien-Smyth"])
def test_windows_1252_is_detected_and_decoded(tmp_path: Path, name: str) -> None:
    content = f"{HEALTH_HEADER}\r\n{GOOD.replace('Zoë', name)}\r\n".encode("cp1252")
    landed = health(tmp_path, content)
    assert landed.encoding == "cp1252"
    assert landed.frame["forename"].to_list() == [name]


def test_polish_s_acute_cannot_be_written_in_windows_1252_but_reads_from_utf8(tmp_path: Path) -> None:
    # ś is not in cp1252: a cp1252 exporter cannot produce it, so a cp1252 file never holds it.
    with pytest.raises(UnicodeEncodeError):
        "Wiśniewski".encode("cp1252")
    landed = health(tmp_path, f"{HEALTH_HEADER}\n{GOOD.replace('Smith', 'Wiśniewski')}\n")
    assert landed.frame["surname"].to_list() == ["Wiśniewski"]


def test_file_mixing_utf8_and_windows_1252_is_refused_not_mojibaked(tmp_path: Path) -> None:
    utf8_row = GOOD.replace("Smith", "Wiśniewski").encode("utf-8")
    cp1252_row = GOOD.encode("cp1252")
    land(tmp_path, "health_register.csv", HEALTH_HEADER.encode() + b"\n" + utf8_row + b"\n" + cp1252_row + b"\n")
    delivery = read_delivery(tmp_path, DAY)
    assert "health_register" not in delivery.files
    [problem] = delivery.problems
    assert problem.file == "health_register.csv" and problem.row == 2
    assert "mixes text encodings: row 1 is UTF-8" in problem.message
    assert "Re-export the whole file as UTF-8" in problem.message


def test_bytes_undefined_in_windows_1252_are_refused(tmp_path: Path) -> None:
    land(tmp_path, "health_register.csv", HEALTH_HEADER.encode() + b"\n" + GOOD.encode("cp1252").replace(b"Smith", b"Sm\x81th") + b"\n")
    [problem] = read_delivery(tmp_path, DAY).problems
    assert "neither UTF-8 nor Windows-1252 (byte 0x81)" in problem.message and problem.row == 1


def test_bom_is_accepted(tmp_path: Path) -> None:
    landed = health(tmp_path, b"\xef\xbb\xbf" + f"{HEALTH_HEADER}\n{GOOD}\n".encode())
    assert landed.encoding == "utf-8-sig"
    assert landed.frame["nhs_number"].to_list() == ["9434765919"]


def test_rfc4180_quoting_and_records_spanning_lines(tmp_path: Path) -> None:
    content = (
        f"{HEALTH_HEADER}\n"
        '9434765919,"Zoë ""Zee""","Smith, Jr",2015-01-02,"Flat 2\n10 High St",NR1 3QH,D82001\n'
        f"{GOOD}\n"
    )
    frame = health(tmp_path, content).frame
    assert frame.row(0, named=True)["forename"] == 'Zoë "Zee"'
    assert frame["surname"].to_list() == ["Smith, Jr", "Smith"]
    assert frame["address_line1"].to_list() == ["Flat 2\n10 High St", "1 High St"]
    assert frame["_row"].to_list() == [1, 2]  # records, not lines


def test_column_names_are_case_insensitive_and_extra_columns_are_kept(tmp_path: Path) -> None:
    header = " NHS_Number ,Forename,SURNAME,dob,address_line1,postcode,gp_practice_code, Notes "
    landed = health(tmp_path, f"{header}\n{GOOD},called twice\n")
    assert landed.extra_columns == ["notes"]
    assert landed.frame["notes"].to_list() == ["called twice"]
    assert landed.frame["nhs_number"].to_list() == ["9434765919"]


def test_missing_literals_are_kept_verbatim(tmp_path: Path) -> None:
    landed = health(tmp_path, f"{HEALTH_HEADER},town,uprn,gender\n{GOOD},NULL,N/A,-\n{GOOD},,\"\",\n")
    assert landed.frame.select("town", "uprn", "gender").rows() == [("NULL", "N/A", "-"), ("", "", "")]


def test_missing_required_column_fails_that_file_only(tmp_path: Path) -> None:
    land(tmp_path, "health_register.csv", "nhs_number,forename,surname,address_line1,postcode\n1,a,b,c,d\n")
    land(tmp_path, "police_persons.csv", "incident_id,person_ref,role,forename,surname\nI1,P1,victim,A,B\n")
    delivery = read_delivery(tmp_path, DAY)
    assert sorted(delivery.files) == ["police_persons"]
    assert [(p.file, p.column) for p in delivery.problems] == [
        ("health_register.csv", "dob"), ("health_register.csv", "gp_practice_code"),
    ]
    assert "required column 'dob' is missing" in delivery.problems[0].message


def test_empty_file_is_a_problem_and_header_only_file_has_no_rows(tmp_path: Path) -> None:
    land(tmp_path, "school_census.csv", b"")
    land(tmp_path, "health_register.csv", HEALTH_HEADER + "\n")
    delivery = read_delivery(tmp_path, DAY)
    [problem] = delivery.problems
    assert problem.file == "school_census.csv" and "file is empty (0 bytes" in problem.message
    assert delivery.files["health_register"].frame.height == 0
    assert "school_census" not in delivery.files


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (f"{GOOD},extra,fields", "has 9 fields but the header has 7 (an unquoted comma?)"),
        ("9434765919,Zoë,Smith", "has 3 fields but the header has 7"),
    ],
)
def test_record_with_wrong_field_count_is_kept_as_raw_line(tmp_path: Path, bad_line: str, message: str) -> None:
    landed = health(tmp_path, f"{HEALTH_HEADER}\n{GOOD}\n{bad_line}\n{GOOD}\n")
    assert [str(p) for p in landed.row_problems] == [f"health_register.csv row 2: {message}"]
    assert landed.frame[RAW_LINE].to_list() == [None, bad_line, None]
    assert landed.frame["nhs_number"].to_list() == ["9434765919", None, "9434765919"]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("9434765919,Zoë,Smi", "has 3 of the header's 7 fields: the file looks truncated mid-row"),
        ('9434765919,Zoë,Smith,2015-01-02,"1 High', "the file ends inside a quoted field (truncated mid-row)"),
    ],
)
def test_file_truncated_mid_row_keeps_last_row_as_raw_line(tmp_path: Path, tail: str, message: str) -> None:
    landed = health(tmp_path, f"{HEALTH_HEADER}\n{GOOD}\n{tail}")
    assert [(p.row, p.message) for p in landed.row_problems] == [(2, message)]
    assert landed.frame[RAW_LINE].to_list() == [None, tail]


def test_blank_lines_are_not_records(tmp_path: Path) -> None:
    landed = health(tmp_path, f"{HEALTH_HEADER}\n{GOOD}\n\n{GOOD}\n\n")
    assert landed.frame.height == 2 and landed.row_problems == []


def test_both_formats_for_one_source_is_a_problem(tmp_path: Path) -> None:
    land(tmp_path, "health_register.csv", f"{HEALTH_HEADER}\n{GOOD}\n")
    pl.read_csv(tmp_path / DAY.isoformat() / "health_register.csv").write_parquet(
        tmp_path / DAY.isoformat() / "health_register.parquet"
    )
    delivery = read_delivery(tmp_path, DAY)
    assert delivery.files == {}
    assert "both health_register.csv and health_register.parquet" in delivery.problems[0].message


def test_parquet_input_is_read_as_text(tmp_path: Path) -> None:
    folder = tmp_path / DAY.isoformat()
    folder.mkdir()
    pl.DataFrame({
        "NHS_Number": ["9434765919"], "forename": ["Siân"], "surname": ["Jones"],
        "dob": [date(2015, 1, 2)], "address_line1": ["1 High St"], "postcode": ["NR1 3QH"],
        "gp_practice_code": ["D82001"], "uprn": [100012345678],
    }).write_parquet(folder / "health_register.parquet")
    landed = read_delivery(tmp_path, DAY).files["health_register"]
    assert landed.format == "parquet"
    assert landed.frame.select("nhs_number", "forename", "dob", "uprn").row(0) == (
        "9434765919", "Siân", "2015-01-02", "100012345678",
    )


def test_all_problems_of_a_delivery_are_raised_together(tmp_path: Path) -> None:
    land(tmp_path, "school_census.csv", b"")
    land(tmp_path, "health_register.csv", "nhs_number\n1\n")
    land(tmp_path, "police_incidents.csv", "incident_id,reported_at,updated_at,dash_risk,children_present,address_line1\n")
    delivery = read_delivery(tmp_path, DAY)
    with pytest.raises(InputError) as raised:
        raise_for_problems(delivery)
    files = {p.file for p in raised.value.problems}
    assert files == {"school_census.csv", "health_register.csv"}
    assert "health_register.csv, column gp_practice_code: required column" in str(raised.value)
    assert "police_incidents" in delivery.files  # a header-only police file is a quiet night


def test_an_empty_folder_means_nothing_delivered(tmp_path: Path) -> None:
    (tmp_path / DAY.isoformat()).mkdir()
    delivery = read_delivery(tmp_path, DAY)
    assert delivery.files == {} and delivery.problems == [] and delivery.warnings == []
    raise_for_problems(delivery)


def test_no_folder_is_an_input_error_naming_the_folder_and_the_misnamed_ones(tmp_path: Path) -> None:
    # A missing folder used to read as a quiet night: an empty list that looked complete.
    (tmp_path / "2026-1O-05").mkdir()
    with pytest.raises(InputError) as raised:
        read_delivery(tmp_path, DAY)
    assert str(tmp_path / DAY.isoformat()) in str(raised.value)
    assert "'2026-1O-05'" in str(raised.value)


@pytest.mark.parametrize("name", ["latest", "2026-10-5", "20261005", "2026-02-30", "police_incidents.csv"])
def test_entries_of_the_landing_dir_that_no_night_reads_are_warned_about(tmp_path: Path, name: str) -> None:
    (tmp_path / DAY.isoformat()).mkdir()
    (tmp_path / "2026-10-04").mkdir()
    if name.endswith(".csv"):
        (tmp_path / name).write_text("incident_id\n")
    else:
        (tmp_path / name).mkdir()
    [warning] = read_delivery(tmp_path, DAY).warnings
    assert warning.kind == "landing_not_a_date" and repr(name) in warning.message


@pytest.mark.parametrize(
    ("tail", "cut"),
    [
        ("P3,victim,Jess,Ha", True),          # cut mid-record, no final newline
        ('P3,victim,"Jess', True),             # cut inside a quoted field
        ("P3,victim,Jess,Hale,,,,,,,,\n", False),  # whole
        ("P3,victim,Jess,Ha\n", False),        # short but ends as a whole file does: a bad row only
    ],
)
def test_a_file_cut_in_transit_is_processed_and_flagged(tmp_path: Path, tail: str, cut: bool) -> None:
    folder = tmp_path / DAY.isoformat()
    folder.mkdir()
    header = "incident_id,person_ref,role,forename,surname,dob,gender,relationship_to_victim,address_line1,address_line2,town,postcode,uprn"
    (folder / "police_persons.csv").write_text(f"{header}\nI1,P1,victim,Ann,Lee,,,,,,,,\nI1,{tail}")
    delivery = read_delivery(tmp_path, DAY)
    landed = delivery.files["police_persons"]
    assert landed.frame.height == 2 and landed.frame["forename"][0] == "Ann"
    assert landed.cut_at_row == (2 if cut else None)
    assert [w.kind for w in delivery.warnings] == (["truncated_file"] if cut else [])
    if cut:
        assert "police_persons.csv looks cut in transit" in delivery.warnings[0].message
        assert "ask police to resend" in delivery.warnings[0].message
