"""The CLI never says "succeeded" when something went wrong, refuses clearly, and leaks
nothing: each case goes through the real command line against a real warehouse and checks
the exit code, the message, and that nothing was lost, written or overwritten (a digest of
the warehouse's tables and of the report folders before and after)."""

from __future__ import annotations

import errno
import getpass
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import default_reports_dir, load_settings
from pipeline.errors import OutputError, UsageError
from pipeline.ingest import run_order
from pipeline.outputs import files as outputs
from pipeline.publish import warehouse, working_copy
from pipeline.terminal import safe

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, write_delivery
from e2e.test_scenarios import NIGHT, _police, _registers

runner = CliRunner()
KEY = "k" * 32


# ---- one real night, copied for each test ----------------------------------------------------
@pytest.fixture(scope="module")
def night_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("night")
    _registers(root / "landing")
    _police(root / "landing")
    env = {"HEARTH_WAREHOUSE": str(root / "wh" / "warehouse.duckdb"), "HEARTH_LANDING_DIR": str(root / "landing")}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        result = runner.invoke(app, ["run", "--date", NIGHT.isoformat(), "--create"])
    assert result.exit_code == 0, result.output
    warehouse.prepare_working_copy(root / "wh" / "warehouse.duckdb")  # wait for the background copy
    return root


@pytest.fixture
def env(night_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "svc"
    shutil.copytree(night_template, root)
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(root / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("HEARTH_LANDING_DIR", str(root / "landing"))
    monkeypatch.setenv("HEARTH_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("HEARTH_REPORTS_DIR", raising=False)
    return root


def _published(root: Path) -> Path:
    return root / "wh" / "warehouse.duckdb"


def _digest(root: Path) -> dict[str, str]:
    """A digest of every table of the working and published files, and of every report file."""
    out: dict[str, str] = {}
    for label, path in (("published", _published(root)), ("work", warehouse.work_path(_published(root)))):
        if not path.exists():
            continue
        with warehouse.open_reader(path) as wh:
            tables = wh.fetch("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                              "WHERE table_catalog = 'wh' AND table_type = 'BASE TABLE' ORDER BY 1")
            for (table,) in tables:
                rows = wh.frame(f"SELECT * FROM {table} ORDER BY ALL")
                out[f"{label}:{table}"] = hashlib.sha256(repr(rows.rows()).encode()).hexdigest()
    for f in sorted(root.rglob("*")):
        if f.is_file() and "reports" in f.parts:
            out[f"file:{f.relative_to(root)}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _access_log(root: Path) -> list[tuple]:
    with warehouse.open_writer(_published(root)) as wh:
        return [tuple(r) for r in wh.fetch("SELECT who, command, subject, os_user FROM audit.access_log ORDER BY accessed_at")]


# ---- 1. a warehouse path that does not exist ---------------------------------------------------
@pytest.mark.parametrize("args", [
    ["run", "--date", NIGHT.isoformat()],
    ["report", "--date", NIGHT.isoformat()],
    ["decide", "H1", "--level", "high", "--reason", "x"],
    ["review", "--accept", "a=b"],
    ["review"],
    ["purge", "--apply"],
    ["sql", "SELECT 1"],
    ["audit-extract", "--out", "extract"],
    ["explain", "C1"],
])
def test_a_warehouse_path_that_does_not_exist_is_refused_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo" / "warehouse.duckdb"
    result = runner.invoke(app, [*args, "--warehouse", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"no warehouse at {missing}" in result.output and "hearth init" in result.output
    assert not (tmp_path / "typo").exists()
    assert list(tmp_path.iterdir()) == []


def test_init_creates_an_owner_only_warehouse_once(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "warehouse.duckdb"
        result = runner.invoke(app, ["init", "--warehouse", str(path)])
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(warehouse.work_path(path).stat().st_mode) == 0o600
        assert os.umask(0o022) == 0o022, "the command must restore the caller's umask"
        again = runner.invoke(app, ["init", "--warehouse", str(path)])
        assert again.exit_code == 2 and "already exists" in again.output
    finally:
        os.umask(old)


# ---- 2. reports belong to their warehouse ------------------------------------------------------
def test_reports_of_another_warehouse_never_overwrite_the_services(env: Path, tmp_path: Path) -> None:
    service_reports = env / "wh" / "reports"
    before = _digest(env)
    assert any(service_reports.rglob("*.html")), "the service's night wrote its report beside it"
    other = tmp_path / "copy" / "test.duckdb"
    other.parent.mkdir()
    shutil.copy(_published(env), other)
    result = runner.invoke(app, ["report", "--date", NIGHT.isoformat(), "--warehouse", str(other)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copy" / "test-reports" / NIGHT.isoformat() / f"mash-list-{NIGHT}.html").exists()
    assert {k: v for k, v in _digest(env).items() if k.startswith("file:")} == \
        {k: v for k, v in before.items() if k.startswith("file:")}


@pytest.mark.parametrize(("warehouse_file", "reports"), [
    ("/srv/hearth/warehouse.duckdb", "/srv/hearth/reports"),
    ("/srv/hearth/test.duckdb", "/srv/hearth/test-reports"),
])
def test_the_reports_folder_defaults_to_beside_the_warehouse(warehouse_file: str, reports: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEARTH_REPORTS_DIR", raising=False)
    assert default_reports_dir(Path(warehouse_file)) == Path(reports)
    assert load_settings(warehouse=Path(warehouse_file)).reports_dir == Path(reports)
    assert load_settings(warehouse=Path(warehouse_file), reports_dir=Path("/r")).reports_dir == Path("/r")


# ---- 3. a report for a date no night published ------------------------------------------------
def test_report_for_an_unpublished_date_is_refused_naming_the_latest(env: Path) -> None:
    before = _digest(env)
    result = runner.invoke(app, ["report", "--date", (NIGHT + timedelta(days=3)).isoformat()])
    assert result.exit_code == 2, result.output
    assert f"the latest is {NIGHT}" in result.output and "no report was written" in result.output
    assert _digest(env) == before
    assert not (env / "wh" / "reports" / (NIGHT + timedelta(days=3)).isoformat()).exists()


# ---- 4. a run date in the future ---------------------------------------------------------------
def test_a_run_date_in_the_future_is_refused(env: Path) -> None:
    before = _digest(env)
    tomorrow = run_order.london_today() + timedelta(days=1)
    result = runner.invoke(app, ["run", "--date", tomorrow.isoformat()])
    assert result.exit_code == 2, result.output
    assert "after today" in result.output and "Europe/London" in result.output
    assert _digest(env) == before


@pytest.mark.parametrize(("day", "allow", "refused"), [
    (date(2026, 11, 30), False, True), (date(2026, 11, 30), True, False),
    (date(2026, 11, 29), False, False), (date(2026, 1, 1), False, False),
])
def test_check_not_future(day: date, allow: bool, refused: bool) -> None:
    if refused:
        with pytest.raises(UsageError):
            run_order.check_not_future(day, allow_future=allow, today=date(2026, 11, 29))
    else:
        run_order.check_not_future(day, allow_future=allow, today=date(2026, 11, 29))


# ---- 5. nights out of order --------------------------------------------------------------------
D = date(2026, 10, 10)


def _history(rows: list[tuple[date, bool, bool]], published: list[date] | None = None) -> run_order.History:
    nights = pl.DataFrame(rows, schema={"logical_date": pl.Date, "succeeded": pl.Boolean, "failed": pl.Boolean},
                          orient="row")
    return run_order.History(nights=nights, published=published or [])


@pytest.mark.parametrize(("rows", "expected"), [
    ([], None),                                                         # the first night
    ([(D - timedelta(days=1), True, False)], None),                     # yesterday succeeded
    ([(D - timedelta(days=2), True, False)], "never ran for 2026-10-09"),
    ([(D - timedelta(days=2), True, False), (D - timedelta(days=1), False, True)], "failed on 2026-10-09"),
    ([(D - timedelta(days=3), True, False), (D - timedelta(days=2), False, True)],
     "failed on 2026-10-08 and never ran for 2026-10-09"),
    ([(D - timedelta(days=1), True, True)], None),                      # failed, then rerun and succeeded
    ([(D - timedelta(days=1), False, True)], "failed on 2026-10-09"),   # the very first night failed
    ([(D + timedelta(days=1), True, False)], None),                     # only later nights: a backfill
])
def test_the_nights_missing_before_a_run_are_named(rows: list, expected: str | None) -> None:
    said = run_order.gap_before(_history(rows), D)
    if expected is None:
        assert said is None
    else:
        assert said is not None and expected in said and "hearth run --date" in said


def test_a_rerun_names_the_later_lists_now_stale() -> None:
    history = _history([], published=[D - timedelta(days=1), D, D + timedelta(days=1), D + timedelta(days=2)])
    said = run_order.stale_after(history, D)
    assert said is not None and "2026-10-11, 2026-10-12" in said and "hearth run --date 2026-10-11" in said
    assert run_order.stale_after(history, D + timedelta(days=2)) is None


def test_the_cli_says_which_night_is_missing_and_which_lists_a_rerun_left_stale(env: Path) -> None:
    third = NIGHT + timedelta(days=2)
    (env / "landing" / third.isoformat()).mkdir(parents=True)  # delivered, but nothing new
    result = runner.invoke(app, ["run", "--date", third.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"never ran for {NIGHT + timedelta(days=1)}" in result.output
    result = runner.invoke(app, ["run", "--date", NIGHT.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"the lists of {third} were built before this rerun of {NIGHT}" in result.output


# ---- 6. ids that do not exist -------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["decide", "H-NOPE", "--level", "high", "--reason", "x"],
    ["decide", "x' OR 1=1--", "--priority", "1", "--reason", "x"],
    ["review", "--accept", "x' OR 1=1--=y"],
    ["review", "--reject", f"health_register:{nhs_number(1)}=school_census:NOPE"],
])
def test_decisions_on_unknown_ids_are_refused_and_nothing_written(env: Path, args: list[str]) -> None:
    before = _digest(env)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no decision recorded" in result.output
    assert _digest(env) == before


def test_a_decision_on_a_known_household_is_recorded_with_the_os_user(env: Path) -> None:
    with warehouse.open_reader(_published(env)) as wh:
        household = wh.fetch("SELECT household_id FROM marts.mash_list WHERE household_id IS NOT NULL LIMIT 1")[0][0]
    result = runner.invoke(app, ["decide", household, "--level", "high", "--reason", "seen", "--as", "coord.a"])
    assert result.exit_code == 0, result.output
    with warehouse.open_reader(_published(env)) as wh:
        assert wh.fetch("SELECT decided_by, os_user FROM audit.coordinator_decisions") == \
            [("coord.a", getpass.getuser())]


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_review_limit_must_be_positive(env: Path, limit: str) -> None:
    result = runner.invoke(app, ["review", "--limit", limit])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "--limit" in result.output


# ---- 7. the access log is written first, waiting briefly for a running night --------------------
@pytest.fixture
def writer_held(env: Path) -> Iterator[None]:
    """Another process holds the working file, as a running night does."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from pipeline.publish import warehouse
        with warehouse.open_writer(Path({str(_published(env))!r})):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.mark.parametrize("args", [
    ["report", "--date", NIGHT.isoformat()],
    ["audit-extract", "--out", "EXTRACT"],
    ["sql", "SELECT count(*) FROM marts.child_flags"],
    ["review"],
])
def test_a_viewing_command_during_a_night_waits_then_refuses_showing_and_writing_nothing(
    env: Path, writer_held: None, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("HEARTH_ACCESS_LOG_WAIT_SECONDS", "0.5")
    shutil.rmtree(env / "wh" / "reports")
    args = [str(env / "extract") if a == "EXTRACT" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "nothing was shown or written" in result.output and "within 0.5 s" in result.output
    assert not (env / "wh" / "reports").exists() and not (env / "extract").exists()
    assert "child_flags" not in result.output.split("hearth:")[0]


def test_the_report_is_logged_before_it_is_written(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import night

    logged_when_written: list[tuple] = []

    def spy(files: dict[Path, str], *, what: str) -> list[Path]:
        logged_when_written.extend(_access_log(env))
        return []

    monkeypatch.setattr(night, "write_files", spy)
    result = runner.invoke(app, ["report", "--date", NIGHT.isoformat(), "--as", "coord.b"])
    assert result.exit_code == 0, result.output
    assert logged_when_written == [("coord.b", "report", NIGHT.isoformat(), getpass.getuser())]


# ---- 8. full disks, read-only folders, an existing file as --out --------------------------------
@pytest.mark.parametrize(("code", "said"), [
    (errno.ENOSPC, "the disk is full"), (errno.EROFS, "the file system is read-only"),
    (errno.EACCES, "permission is denied"),
])
def test_a_report_that_cannot_be_written_says_where_and_leaves_no_temporary_file(
    env: Path, monkeypatch: pytest.MonkeyPatch, code: int, said: str
) -> None:
    def half_then_fail(fh: object, data: bytes) -> None:
        fh.write(data[: len(data) // 2])  # type: ignore[attr-defined]
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(outputs, "_write_all", half_then_fail)
    reports = env / "wh" / "reports"
    shutil.rmtree(reports)
    result = runner.invoke(app, ["report", "--date", NIGHT.isoformat()])
    assert result.exit_code == 1, result.output
    target = reports / NIGHT.isoformat() / f"mash-list-{NIGHT}.html"
    assert f"could not write the MASH list report to {target}: {said}" in " ".join(result.output.split())
    assert [p for p in reports.rglob("*") if p.is_file()] == []


def test_a_full_disk_during_the_warehouse_copy_leaves_no_partial_copy(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FullDisk:
        @staticmethod
        def copyfile(source: Path, target: Path) -> None:
            Path(target).write_bytes(b"\0" * 4096)
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(working_copy, "shutil", FullDisk)
    with warehouse.open_reader(_published(env)) as wh:
        household = wh.fetch("SELECT household_id FROM linked.households LIMIT 1")[0][0]
    before = _published(env).read_bytes()
    result = runner.invoke(app, ["decide", household, "--level", "high", "--reason", "x"])
    assert result.exit_code == 1, result.output
    assert "the disk is full" in result.output and str(_published(env)) in " ".join(result.output.split())
    assert list((env / "wh").glob("*.tmp")) == []
    assert _published(env).read_bytes() == before


def test_an_existing_file_as_out_is_refused_and_left_alone(env: Path) -> None:
    existing = env / "notes.txt"
    existing.write_text("keep me")
    result = runner.invoke(app, ["audit-extract", "--out", str(existing)])
    assert result.exit_code == 2, result.output
    assert f"{existing} is a file" in " ".join(result.output.split())
    assert existing.read_text() == "keep me"


def test_an_extract_and_a_report_are_owner_only(env: Path) -> None:
    old = os.umask(0o022)
    try:
        shutil.rmtree(env / "wh" / "reports")
        assert runner.invoke(app, ["audit-extract", "--out", str(env / "x" / "extract")]).exit_code == 0
        assert runner.invoke(app, ["report", "--date", NIGHT.isoformat()]).exit_code == 0
    finally:
        os.umask(old)
    made = [*(env / "x").rglob("*"), *(env / "wh" / "reports").rglob("*"), env / "x", env / "wh" / "reports"]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in made}
    assert set(modes.values()) <= {0o600, 0o700}, modes
    assert not list((env / "x").glob(".*tmp*"))


# ---- 9. partner text is text on the terminal ----------------------------------------------------
def test_a_header_with_markup_is_reported_verbatim_with_exit_2(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    folder = env / "landing" / nxt.isoformat()
    folder.mkdir(parents=True)
    (folder / "police_incidents.csv").write_text("incident_id,[/evil],[link=http://evil.example]x[/link]\nX1,a,b\n")
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 2, result.output
    assert "[/evil]" in result.output and "[link=http://evil.example]" in result.output


def test_escape_sequences_in_names_never_reach_the_terminal(env: Path) -> None:
    evil = "Ivy\x1b]0;pwned\x07\x1b[2J[link=http://evil.example]x[/link]"
    with warehouse.open_writer(_published(env)) as wh:
        child = wh.fetch("SELECT child_id FROM marts.child_index WHERE forename = 'Ivy'")[0][0]
        wh.fetch("UPDATE marts.child_index SET forename = ? WHERE child_id = ?", [evil, child])
        wh.fetch("UPDATE marts.child_flags SET forename = ? WHERE child_id = ?", [evil, child])
        wh.fetch("UPDATE linked.children SET forename = ? WHERE child_id = ?", [evil, child])
        warehouse.refresh_published(wh)
    result = runner.invoke(app, ["explain", child])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert safe(evil) in result.output


# ---- 10. landing files that link out of the landing folder ----------------------------------------
def test_a_landing_file_linking_outside_the_landing_folder_is_refused_unread(env: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FIRST-LINE,root:x:0:0\nsecond\n")
    nxt = NIGHT + timedelta(days=1)
    folder = env / "landing" / nxt.isoformat()
    folder.mkdir(parents=True)
    (folder / "police_incidents.csv").symlink_to(secret)
    result = runner.invoke(app, ["run", "--date", nxt.isoformat()])
    assert result.exit_code == 2, result.output
    assert "police_incidents.csv" in result.output and "outside the landing folder" in result.output
    assert "SECRET" not in result.output
    with warehouse.open_reader(_published(env)) as wh:
        for (table,) in wh.fetch("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                 "WHERE table_catalog = 'wh'"):
            text = repr(wh.frame(f"SELECT * FROM {table}").rows())
            assert "SECRET" not in text, table


# ---- 11. logs carry ids and row numbers, never values ---------------------------------------------
def test_quarantine_is_logged_by_row_number_without_the_values(env: Path) -> None:
    nxt = NIGHT + timedelta(days=1)
    write_delivery(env / "landing", nxt, "police_persons", [
        # An unknown role quarantines the row whole (a bad date alone would only be withheld).
        {"incident_id": "INC-R", "person_ref": "P9", "role": "bystander", "forename": "Rosa", "surname": "Marsh",
         "dob": "1996-02-31", "gender": "f", "postcode": "NR99 9ZZ", "address_line1": "1 Test Row"},
    ])
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.INFO)
    logger = logging.getLogger("pipeline")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        from pipeline.night import run_night

        run_night(nxt, load_settings(), trigger="test")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    text = "\n".join(r.getMessage() for r in records)
    assert "police_persons.csv: row(s) 1 quarantined" in text
    assert "1996-02-31" in _quarantine_reasons(env), "the value is kept in the warehouse"
    for value in ("1996-02-31", "NR99 9ZZ", "1 Test Row"):
        assert value not in text


def _quarantine_reasons(root: Path) -> str:
    with warehouse.open_reader(_published(root)) as wh:
        return str(wh.fetch("SELECT list(reasons) FROM audit.quarantine"))


# ---- 13. hearth sql -------------------------------------------------------------------------------
def test_sql_prints_a_table_or_csv_and_is_access_logged(env: Path) -> None:
    query = "SELECT logical_date, status FROM audit.runs ORDER BY logical_date"
    table = runner.invoke(app, ["sql", query, "--as", "auditor.x"])
    assert table.exit_code == 0, table.output
    assert "succeeded" in table.output and "1 row(s)" in table.output
    csv = runner.invoke(app, ["sql", query, "--csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output == f"logical_date,status\n{NIGHT},succeeded\n"
    log = _access_log(env)
    assert [r[:3] for r in log] == [("auditor.x", "sql", query), (getpass.getuser(), "sql", query)]


@pytest.mark.parametrize("query", [
    "COPY marts.child_flags TO 'OUT'",
    "CREATE TABLE marts.x AS SELECT 1",
    "DELETE FROM audit.access_log",
    "ATTACH 'OUT' AS other",
    "SELECT * FROM read_csv('OUT')",
    "SET enable_external_access = true",
    "SELEC nonsense",
])
def test_sql_cannot_write_or_reach_other_files(env: Path, tmp_path: Path, query: str) -> None:
    out = tmp_path / "leak.csv"
    if "read_csv" in query:
        out.write_text("a\nSECRET\n")
    before = _digest(env)
    result = runner.invoke(app, ["sql", query.replace("OUT", str(out))])
    assert result.exit_code == 2, result.output
    assert "the query failed" in result.output
    assert "SECRET" not in result.output
    assert out.exists() == ("read_csv" in query)
    after = _digest(env)
    assert {k: v for k, v in after.items() if "access_log" not in k} == \
        {k: v for k, v in before.items() if "access_log" not in k}


def test_output_error_names_the_path_and_what_to_do() -> None:
    error = outputs.output_error(Path("/srv/out.csv"), OSError(errno.ENOSPC, "x"), what="the list")
    assert isinstance(error, OutputError) and error.exit_code == 1
    assert str(error).startswith("could not write the list to /srv/out.csv: the disk is full.")
    assert "run the command again" in str(error)
