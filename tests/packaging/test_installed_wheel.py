"""hearth installed from its wheel, as an Airflow worker gets it: built, installed into a
fresh virtualenv outside the checkout, and run from a folder that knows nothing of the
checkout. A file the wheel forgot (a migration, a suite, the rules, the template) fails here.

The dependencies come from the project's lock, offline, from the uv cache that ``make``
filled (``uv pip install -r`` of an export cannot run offline: it needs the index pages
cached, which a locked sync never fetches); hearth itself comes only from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("installed_wheel")]

CHECKOUT = Path(__file__).resolve().parents[2]
FIRST_NIGHT = "2026-10-01"

# Run in the installed interpreter: the shipped files must come from the package, and the
# DAG files must parse with nothing but the installed package to import.
CHECK_INSTALL = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from pipeline import paths
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "from_checkout": paths.from_checkout(),
    "sql": str(paths.shipped("sql")),
    "dags": sorted(bag.dag_ids),
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
}))
"""


def _uv() -> str:
    found = shutil.which("uv") or str(CHECKOUT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed to build the wheel: run `make bootstrap`"
    return found


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_and_runs_a_night_outside_the_checkout(tmp_path: Path) -> None:
    uv = _uv()
    # Nothing of the checkout or of the test session may leak into the installed hearth.
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("HEARTH_", "AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT"))
    }
    env |= {"UV_COMPILE_BYTECODE": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}

    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "site"
    work.mkdir()
    _run([uv, "build", "--wheel", "--quiet", "--out-dir", dist], cwd=CHECKOUT, env=env)
    (wheel,) = dist.glob("hearth-*.whl")

    python = Path(sys.executable).resolve()  # the interpreter behind the project's venv
    _run(
        [uv, "sync", "--frozen", "--no-dev", "--no-install-project", "--quiet", "--python", python],
        cwd=CHECKOUT, env=env | {"UV_PROJECT_ENVIRONMENT": str(venv)},
    )
    _run([uv, "pip", "install", "--quiet", "--no-deps", "--python", venv / "bin" / "python", wheel], cwd=work, env=env)

    hearth = venv / "bin" / "hearth"
    _run([hearth, "synth", "--out", "county", "--households", "200", "--days", "2", "--start-date", FIRST_NIGHT],
         cwd=work, env=env)
    out = _run([hearth, "run", "--date", FIRST_NIGHT, "--landing", "county/landing", "--create"], cwd=work, env=env)
    assert "succeeded" in out

    csv = _run(
        [hearth, "sql", "--csv",
         "SELECT (SELECT string_agg(status, ',') FROM audit.runs) AS runs, "
         "(SELECT count(*) FROM marts.child_flags) AS flags, "
         "(SELECT count(*) FROM marts.mash_list) AS listed"],
        cwd=work, env=env,
    )
    runs, flags, listed = csv.strip().splitlines()[-1].split(",")
    assert runs == "succeeded"
    assert int(flags) > 0 and int(listed) > 0
    # Default data paths start at the working directory of an installed hearth.
    assert (work / "data" / "warehouse.duckdb").is_file()
    assert list((work / "data" / "reports" / FIRST_NIGHT).glob("mash-list-*.html"))

    dags = work / "dags"
    shutil.copytree(CHECKOUT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    airflow_env = env | {"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    found = json.loads(
        _run([venv / "bin" / "python", "-c", CHECK_INSTALL, dags], cwd=work, env=airflow_env).strip().splitlines()[-1]
    )
    assert found["from_checkout"] is False
    assert Path(found["sql"]).is_relative_to(venv)
    assert found["errors"] == {}
    assert found["dags"] == ["hearth_force_nightly", "hearth_nightly", "hearth_school_exports"]


def test_dag_files_import_hearth_only_as_an_installed_package() -> None:
    for dag_file in sorted((CHECKOUT / "dags").glob("*.py")):
        text = dag_file.read_text(encoding="utf-8")
        assert "sys.path" not in text and "PYTHONPATH" not in text, f"{dag_file.name} edits the import path"
