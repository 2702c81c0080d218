"""Neither the warehouse encryption key nor the pseudonymisation key is ever written into
the audit trail (audit.runs.config records the configuration of every run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish import warehouse

sys.path.insert(0, str(Path(__file__).parent.parent))
from e2e.test_scenarios import NIGHT, _police, _registers

runner = CliRunner()
ENCRYPTION_KEY = "enc-key-never-recorded-0123456789abcdef"
PSEUDONYM_KEY = "pseudonym-key-never-recorded-0123456789"


@pytest.mark.slow
def test_the_run_config_in_the_audit_trail_holds_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published = tmp_path / "wh" / "warehouse.duckdb"
    for name, value in (("HEARTH_WAREHOUSE", published), ("HEARTH_LANDING_DIR", tmp_path / "landing"),
                        ("HEARTH_REPORTS_DIR", tmp_path / "reports"), ("HEARTH_ENCRYPTION_KEY", ENCRYPTION_KEY),
                        ("HEARTH_PSEUDONYM_KEY", PSEUDONYM_KEY)):
        monkeypatch.setenv(name, str(value))
    _registers(tmp_path / "landing")
    _police(tmp_path / "landing")
    result = runner.invoke(app, ["run", "--date", NIGHT.isoformat(), "--create"])
    assert result.exit_code == 0, result.output
    with warehouse.open_reader(published, key=ENCRYPTION_KEY) as wh:
        (config,), = wh.fetch("SELECT config FROM audit.runs")
        trail = wh.fetch("SELECT * FROM audit.run_log") + wh.fetch("SELECT * FROM audit.run_stages")
    recorded = json.loads(config)
    assert recorded["warehouse"] == str(published), "the configuration is recorded"
    assert not {"encryption_key", "pseudonym_key"} & set(recorded)
    for key in (ENCRYPTION_KEY, PSEUDONYM_KEY):
        assert key not in config
        assert key not in repr(trail)
