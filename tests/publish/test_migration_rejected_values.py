"""Migration 019 moves the rejected rows' values out of audit.quarantine without losing a
row: a warehouse at migration 018 holding rejected rows as hearth wrote them then is opened
by today's code."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
from builders import read_sql

from pipeline.config import Settings
from pipeline.operate.pseudonymise import row_hash
from pipeline.operate.retention import fill_missing_row_hashes
from pipeline.publish import warehouse

D1, D2 = date(2026, 10, 1), date(2026, 10, 2)
KEY = "m" * 40
# As the code before the change stored them: every reason quoting the delivered text.
OLD_ROWS = [
    ("r1", D1, "health_register", "health_register.csv", 4,
     ["nhs_number: '9434765918' fails the Modulus 11 check", "surname: 'O'Brien' ' contains a control character"],
     json.dumps({"nhs_number": "9434765918", "surname": "O'Brien' ", "forename": "Ines"})),
    ("r1", D1, "police_persons", "police_persons.csv", 2,
     ["incident_id + person_ref: 'INC-9', 'P1' is also on row 1, which was kept"],
     json.dumps({"incident_id": "INC-9", "person_ref": "P1", "surname": "Vane"})),
    ("r2", D2, "school_census", "school_census.csv", 7,
     ["unreadable record: has 3 of the header's 14 fields: the file looks truncated mid-row"],
     json.dumps({"_raw_line": "A123,Tobin,Roe"})),
]


def _warehouse_at_018(published: Path) -> None:
    path = warehouse.work_path(published)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute((warehouse.DDL_DIR / "000_migrations.sql").read_text(encoding="utf-8"))
        for ddl in sorted(warehouse.DDL_DIR.glob("[0-9][0-9][0-9]_*.sql")):
            version = int(ddl.name[:3])
            if version == 0 or version >= 19:
                continue
            text = ddl.read_text(encoding="utf-8")
            con.execute(text)
            con.execute("INSERT INTO audit.schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                        [version, ddl.name, hashlib.sha256(text.encode()).hexdigest()])
        for row in OLD_ROWS:
            con.execute("INSERT INTO audit.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, datetime(2026, 10, 1, 2, tzinfo=UTC)])
        con.execute("INSERT INTO linked.person_links (as_of, incident_id, person_ref, role, person_id) VALUES "
                    "(?, 'INC-1', 'S1', 'suspect', 'P-carl'), (?, 'INC-2', 'S2', 'suspect', 'P-carl')", [D1, D2])
    finally:
        con.close()


def test_migration_moves_every_rejected_row_and_keeps_no_value_in_audit(settings: Settings) -> None:
    _warehouse_at_018(settings.warehouse)
    with warehouse.open_writer(settings.warehouse) as wh:
        audit = read_sql(wh, "SELECT * FROM audit.quarantine ORDER BY delivery_date, source")
        values = read_sql(wh, "SELECT run_id, delivery_date, source, _file, _row, reasons, record FROM restricted.rejected_rows "
                          "ORDER BY delivery_date, source")
        xref = wh.literal_rows("SELECT as_of, record_id, person_id FROM linked.person_xref ORDER BY ALL")
        assert fill_missing_row_hashes(wh, KEY) == 3
        hashes = wh.literal_rows("SELECT q.row_hash, r.row_hash, r.record FROM audit.quarantine AS q "
                          "JOIN restricted.rejected_rows AS r USING (delivery_date, source, _file, _row)")
        assert fill_missing_row_hashes(wh, KEY) == 0
    # Not a row lost: the values moved whole, the audit rows stayed.
    assert values.rows() == [r[:5] + (r[5], r[6]) for r in OLD_ROWS]
    assert audit.select("run_id", "delivery_date", "source", "_file", "_row").rows() == [r[:5] for r in OLD_ROWS]
    assert "record" not in audit.columns
    assert audit["reasons"].to_list() == [
        ["nhs_number: fails the Modulus 11 check", "surname: contains a control character"],
        ["incident_id + person_ref: is also on row 1, which was kept"],
        ["unreadable record: has 3 of the header's 14 fields: the file looks truncated mid-row"],
    ]
    for value in ("9434765918", "Brien", "INC-9", "Vane", "Tobin"):
        assert value not in str(audit.rows())
    assert xref == [(D1, "police_persons:INC-1:S1", "P-carl"), (D2, "police_persons:INC-2:S2", "P-carl")]
    assert all(q == r == row_hash(KEY, text) for q, r, text in hashes) and len(hashes) == 3


def test_a_purge_after_the_migration_says_when_the_values_went(settings: Settings) -> None:
    _warehouse_at_018(settings.warehouse)
    with warehouse.open_writer(settings.warehouse) as wh:
        wh.literal_rows("DELETE FROM restricted.rejected_rows WHERE delivery_date = ?", [D1])
        wh.literal_rows("INSERT INTO audit.purges VALUES (?, 'dpo', ?, true, false, NULL, 0, ?)",
                 [datetime(2026, 12, 1, 9, tzinfo=UTC), D2,
                  json.dumps([{"table": "restricted.rejected_rows", "cutoff": D2.isoformat(), "rows": 2}])])
        notes = read_sql(wh, "SELECT delivery_date, source, record IS NULL AS gone, values_note FROM audit.rejected_rows "
                         "ORDER BY delivery_date, source")
    assert notes.rows() == [
        (D1, "health_register", True, "values removed under retention on 2026-12-01"),
        (D1, "police_persons", True, "values removed under retention on 2026-12-01"),
        (D2, "school_census", False, None),
    ]
