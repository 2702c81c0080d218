"""The versioned flagging rules (``config/rules.toml``) as a typed, validated object.

The file is the thing a safeguarding lead reads and signs off, so every threshold lives there
and nowhere else; this module only checks it and hands it to the flag stage and the report.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline.errors import ConfigError
from pipeline.paths import shipped

log = logging.getLogger(__name__)

LEVELS = ("standard", "medium", "high")
LEVEL_RANK: Mapping[str, int] = MappingProxyType({lvl: i for i, lvl in enumerate(LEVELS, 1)})

# Rule ids in the order reasons are listed (most serious first), so outputs read the same way
# every night.
DATA_RULES = (
    "DA_IN_HOUSEHOLD",
    "DASH_HIGH",
    "REPEAT_INCIDENTS",
    "UNDER_ONE",
    "DASH_MEDIUM",
    "TWO_INCIDENTS",
    "CHILDREN_PRESENT",
    # Case S: what the MASH and children's social care already know about the child.
    "OPEN_PLAN",
    "KNOWN_TO_SOCIAL_CARE",
    "REPEATED_CONCERN",
    "PROFESSIONAL_CONCERN",
)
# Social-care statuses that are an open plan: a new incident is for the allocated worker today.
OPEN_PLAN_STATUSES = ("child_in_need", "child_protection_plan", "looked_after")
PROCESS_RULES = ("LEVEL_KEPT", "COORDINATOR_LEVEL")
RULE_ORDER = DATA_RULES + PROCESS_RULES

DEFAULT_RULES_FILE = shipped("config") / "rules.toml"


@dataclass(frozen=True)
class Closure:
    """A school holiday: no school day starts from ``start`` to ``end`` inclusive."""

    start: date
    end: date
    name: str = ""


@dataclass(frozen=True)
class Rules:
    """Everything the flag stage and the report need from ``config/rules.toml``."""

    version: str
    lookback_days: int = 365
    rule_levels: Mapping[str, str] = field(default_factory=dict)
    sentences: Mapping[str, str] = field(default_factory=dict)
    two_incidents_min: int = 2
    repeat_incidents_min: int = 3
    published_at: time = time(7, 0)
    working_day_start: time = time(9, 0)
    working_day_end: time = time(17, 0)
    response_hours: Mapping[str, float] = field(
        default_factory=lambda: {"high": 4.0, "medium": 24.0, "standard": 72.0}
    )
    school_day_start: time = time(8, 30)
    school_max_incident_age_days: int = 14
    school_closures: tuple[Closure, ...] = ()
    # Case S: how long a MASH contact resurfaces, the window in which contacts from two
    # callers about one child list the household by themselves, and how long a closed
    # social-care case still counts as known.
    contact_window_days: int = 365
    repeat_concern_days: int = 90
    repeat_concern_min_callers: int = 2
    social_care_closed_days: int = 90

    def level_of(self, rule_id: str) -> str:
        return self.rule_levels[rule_id]

    def sentence(self, rule_id: str) -> str:
        """The plain-English sentence for a rule id (the id itself if the file has none)."""
        return self.sentences.get(rule_id, rule_id)


def _time(value: Any, where: str, problems: list[str]) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a time like '07:00'")
        return time(0, 0)


def _date(value: Any, where: str, problems: list[str]) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date like '2026-10-26'")
        return date.min


def _positive_int(value: Any, where: str, problems: list[str]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        problems.append(f"{where}: {value!r} must be a whole number ≥ 0")
        return 0
    return value


def rules_from_mapping(raw: Mapping[str, Any], *, source: str = "rules") -> Rules:
    """Validate a parsed rules document, reporting every problem at once."""
    problems: list[str] = []
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        problems.append("version: missing; every flag records it, so set e.g. version = \"2026.11-1\"")
        version = ""

    rules_raw = raw.get("rules", {})
    levels: dict[str, str] = {}
    sentences: dict[str, str] = {}
    for rule_id in RULE_ORDER:
        entry = rules_raw.get(rule_id)
        if not isinstance(entry, Mapping):
            problems.append(f"rules.{rule_id}: missing")
            continue
        sentence = entry.get("sentence")
        if not isinstance(sentence, str) or not sentence.strip():
            problems.append(f"rules.{rule_id}.sentence: missing")
        else:
            sentences[rule_id] = sentence.strip()
        if rule_id in DATA_RULES:
            level = entry.get("level")
            if level not in LEVELS:
                problems.append(f"rules.{rule_id}.level: {level!r} must be one of {', '.join(LEVELS)}")
            else:
                levels[rule_id] = level
    unknown = sorted(set(rules_raw) - set(RULE_ORDER))
    if unknown:
        problems.append(f"rules: unknown rule ids {unknown}; the code implements {list(RULE_ORDER)}")

    two_min = _positive_int(rules_raw.get("TWO_INCIDENTS", {}).get("min_incidents", 2),
                            "rules.TWO_INCIDENTS.min_incidents", problems)
    repeat_min = _positive_int(rules_raw.get("REPEAT_INCIDENTS", {}).get("min_incidents", 3),
                               "rules.REPEAT_INCIDENTS.min_incidents", problems)
    if repeat_min <= two_min:
        problems.append(
            f"rules.REPEAT_INCIDENTS.min_incidents ({repeat_min}) must be greater than "
            f"rules.TWO_INCIDENTS.min_incidents ({two_min})"
        )

    window = raw.get("window", {})
    lookback = _positive_int(window.get("lookback_days", 365), "window.lookback_days", problems)

    response = raw.get("response", {})
    hours_raw = response.get("hours", {})
    hours: dict[str, float] = {}
    for level in LEVELS:
        value = hours_raw.get(level)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            problems.append(f"response.hours.{level}: {value!r} must be a number of working hours ≥ 0")
        else:
            hours[level] = float(value)
    day_start = _time(response.get("working_day_start", "09:00"), "response.working_day_start", problems)
    day_end = _time(response.get("working_day_end", "17:00"), "response.working_day_end", problems)
    if day_end <= day_start:
        problems.append("response.working_day_end must be after response.working_day_start")

    schools = raw.get("school_notifications", {})
    closures: list[Closure] = []
    for i, item in enumerate(schools.get("closures", [])):
        where = f"school_notifications.closures[{i}]"
        start = _date(item.get("from"), f"{where}.from", problems)
        end = _date(item.get("to"), f"{where}.to", problems)
        if end < start:
            problems.append(f"{where}: 'to' ({end}) is before 'from' ({start})")
        closures.append(Closure(start, end, str(item.get("name", ""))))

    contacts = raw.get("contacts", {})
    rules = Rules(
        contact_window_days=_positive_int(contacts.get("window_days", 365), "contacts.window_days", problems),
        repeat_concern_days=_positive_int(
            contacts.get("repeat_within_days", 90), "contacts.repeat_within_days", problems
        ),
        repeat_concern_min_callers=_positive_int(
            contacts.get("repeat_min_callers", 2), "contacts.repeat_min_callers", problems
        ),
        social_care_closed_days=_positive_int(
            contacts.get("social_care_closed_within_days", 90), "contacts.social_care_closed_within_days", problems
        ),
        version=version,
        lookback_days=lookback,
        rule_levels=MappingProxyType(levels),
        sentences=MappingProxyType(sentences),
        two_incidents_min=two_min,
        repeat_incidents_min=repeat_min,
        published_at=_time(response.get("published_at", "07:00"), "response.published_at", problems),
        working_day_start=day_start,
        working_day_end=day_end,
        response_hours=MappingProxyType(hours),
        school_day_start=_time(schools.get("school_day_start", "08:30"),
                               "school_notifications.school_day_start", problems),
        school_max_incident_age_days=_positive_int(
            schools.get("max_incident_age_days", 14), "school_notifications.max_incident_age_days", problems
        ),
        school_closures=tuple(closures),
    )
    if problems:
        raise ConfigError(
            f"{source} is not a valid rules file ({len(problems)} problem(s)); fix and rerun:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return rules


def load_rules(path: Path | str = DEFAULT_RULES_FILE) -> Rules:
    """Read and validate the rules file; raises :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"rules file {path} not found; set rules_file in config/hearth.toml") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file {path} is not valid TOML: {exc}") from exc
    rules = rules_from_mapping(raw, source=str(path))
    log.info("loaded rules %s from %s", rules.version, path)
    return rules
