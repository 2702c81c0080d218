"""A small county of three nights, written as partners deliver it, and helpers to compare
what the warehouse published. Shared by the recovery, audit and protection e2e tests."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from builders import nhs_number, upn_for, write_delivery

NIGHTS = (date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7))
MARTS = ("marts.child_index", "marts.child_flags", "marts.mash_list", "marts.school_notifications")
STREETS = ("Mill Lane", "High Street", "Orchard Close", "Station Road", "Church Walk")
FORENAMES = ("Ivy", "Milo", "Ada", "Noah", "Ruby", "Leo", "Evie", "Alfie", "Isla", "Theo")
SURNAMES = ("Marsh", "Hale", "Finch", "Brook", "Wren", "Cole", "Ashby", "Lowe")


def _home(h: int) -> dict[str, str]:
    return {"address_line1": f"{h + 1} {STREETS[h % len(STREETS)]}", "town": "Norwich",
            "postcode": f"NR{1 + h % 9} {h % 10}{'ABDEFGHJ'[h % 8]}{'LNPQRSTU'[h % 8]}",
            "uprn": f"1000900{h:05d}"}


def _child(h: int, k: int) -> dict[str, str]:
    return {"forename": FORENAMES[(h + 3 * k) % len(FORENAMES)], "surname": SURNAMES[h % len(SURNAMES)],
            "dob": f"{2012 + (h + k) % 13}-{1 + h % 12:02d}-{1 + (h * 7 + k) % 28:02d}", "gender": "fm"[k % 2]}


def write_county(landing: Path, households: int = 40) -> None:
    """Registers on night 1; incidents on every night (new ones and an escalation)."""
    health, school = [], []
    for h in range(households):
        for k in range(1 + h % 2):
            seed = h * 2 + k
            child, home = _child(h, k), _home(h)
            health.append({"nhs_number": nhs_number(seed), **child, **home, "gp_practice_code": f"D8{2000 + h % 5}",
                           "health_visitor_team": "Norwich North"})
            if int(child["dob"][:4]) <= 2021:
                school.append({"upn": upn_for(seed), **child, **home, "school_urn": f"12{1000 + h % 4:04d}",
                               "school_name": "Norwich Primary", "year_group": "3"})
    write_delivery(landing, NIGHTS[0], "health_register", health)
    write_delivery(landing, NIGHTS[0], "school_census", school)
    plan = {NIGHTS[0]: range(0, households // 3), NIGHTS[1]: range(households // 3, households // 2),
            NIGHTS[2]: range(households // 2, households // 2 + 3)}
    for n, (night, hs) in enumerate(plan.items()):
        incidents, persons = [], []
        escalate = list(range(0, 3)) if n == 1 else []  # night 2 updates three night-1 incidents
        for h in [*hs, *escalate]:
            later = h in escalate
            incidents.append({
                "incident_id": f"INC-{h:04d}", "reported_at": f"{NIGHTS[0] if later else night}T01:30:00+01:00",
                "updated_at": f"{night}T0{2 + int(later)}:00:00+01:00",
                "dash_risk": "high" if later else ("standard", "medium")[h % 2],
                "children_present": ("yes", "no", "unknown")[h % 3], "offence": "assault", **_home(h)})
            persons += [
                {"incident_id": f"INC-{h:04d}", "person_ref": f"P{h:04d}V", "role": "victim", "forename": "Jess",
                 "surname": SURNAMES[h % len(SURNAMES)], "dob": "1990-05-05", "gender": "f",
                 "relationship_to_victim": "self", **_home(h)},
                {"incident_id": f"INC-{h:04d}", "person_ref": f"P{h:04d}S", "role": "suspect", "forename": "Carl",
                 "surname": "Stone", "dob": "1988-01-01", "gender": "m", "relationship_to_victim": "partner",
                 **_home(h)},
            ]
        write_delivery(landing, night, "police_incidents", incidents)
        write_delivery(landing, night, "police_persons", persons)


def table_rows(published: Path, table: str, *, key: str | None = None, drop: tuple[str, ...] = ("run_id",)) -> Counter[str]:
    """A table's rows as a multiset of their printed form (order-free, comparable)."""
    with warehouse.open_reader(published, key=key) as wh:
        frame = wh.frame(f"SELECT * FROM {table}")
    frame = frame.drop([c for c in drop if c in frame.columns])
    return Counter(repr(r) for r in frame.rows())


def marts(published: Path, *, key: str | None = None) -> dict[str, Counter[str]]:
    return {t: table_rows(published, t, key=key) for t in MARTS}


def audit_tables(published: Path) -> list[str]:
    with warehouse.open_reader(published) as wh:
        rows = wh.fetch(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_catalog = 'wh' AND table_schema = 'audit' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
    return [r[0] for r in rows]
