"""Where the shipped files are found: from a checkout, its own folders (so an edit to a
suite or a query takes effect without a reinstall); a site's configuration still wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import paths
from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.flag import rules
from pipeline.outputs import report
from pipeline.publish import warehouse
from pipeline.validate import checks as validate

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sql", CHECKOUT / "sql"),
        ("expectations", CHECKOUT / "expectations"),
        ("config", CHECKOUT / "config"),
        ("templates", CHECKOUT / "pipeline" / "templates"),
    ],
)
def test_a_checkout_reads_its_own_folders(name: paths.Shipped, expected: Path) -> None:
    assert paths.from_checkout()
    assert paths.shipped(name) == expected


def test_every_stage_takes_its_files_from_the_one_lookup() -> None:
    assert warehouse.DDL_DIR == CHECKOUT / "sql" / "ddl"
    assert warehouse.QUERY_DIR == CHECKOUT / "sql" / "queries"
    assert rules.DEFAULT_RULES_FILE == CHECKOUT / "config" / "rules.toml"
    assert report.GP_PRACTICES_FILE == CHECKOUT / "config" / "gp_practices.csv"
    assert report.TEMPLATES == CHECKOUT / "pipeline" / "templates"
    assert validate.ValidationContext.__dataclass_fields__["expectations_dir"].default == CHECKOUT / "expectations"


def test_a_site_config_and_environment_still_override_the_shipped_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_rules = tmp_path / "rules.toml"
    config = tmp_path / "hearth.toml"
    config.write_text(f'rules_file = "{site_rules}"\n[linkage]\nmatch_threshold = 0.97\n', encoding="utf-8")
    monkeypatch.setenv("HEARTH_CONFIG", str(config))
    monkeypatch.setenv("HEARTH_EXPECTATIONS_DIR", str(tmp_path / "suites"))

    settings = load_settings()

    assert settings.rules_file == site_rules
    assert settings.linkage.match_threshold == 0.97
    assert settings.expectations_dir == tmp_path / "suites"
    assert Settings.model_fields["rules_file"].default == CHECKOUT / "config" / "rules.toml"


def test_a_broken_install_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A package folder with neither the wheel's copies nor a checkout around it.
    monkeypatch.setattr(paths, "_CHECKOUT", tmp_path)
    with pytest.raises(ConfigError, match="Reinstall hearth"):
        paths.shipped("sql")
