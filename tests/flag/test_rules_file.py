"""config/rules.toml loads, and a broken rules file reports every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.flag.rules import DEFAULT_RULES_FILE, RULE_ORDER, load_rules


def test_shipped_rules_file_is_complete() -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    assert rules.version
    assert set(rules.sentences) == set(RULE_ORDER)
    assert (rules.lookback_days, rules.two_incidents_min, rules.repeat_incidents_min) == (365, 2, 3)
    assert dict(rules.response_hours) == {"standard": 72.0, "medium": 24.0, "high": 4.0}
    assert rules.level_of("UNDER_ONE") == "high" and rules.level_of("CHILDREN_PRESENT") == "medium"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    text = text.replace('version = "', 'old_version = "').replace(
        'level = "high"\nsentence = "The victim', 'level = "severe"\nsentence = "The victim'
    ).replace("min_incidents = 3", "min_incidents = 2").replace('published_at = "07:00"', 'published_at = "7am"')
    bad = tmp_path / "rules.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(bad)
    message = str(info.value)
    for fragment in ("version: missing", "rules.DASH_HIGH.level: 'severe'",
                     "REPEAT_INCIDENTS.min_incidents (2) must be greater", "response.published_at: '7am'"):
        assert fragment in message


def test_missing_file_says_where_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules_file"):
        load_rules(tmp_path / "nope.toml")
