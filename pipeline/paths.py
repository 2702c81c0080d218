"""Where hearth finds the files it ships with, installed or run from a checkout.

The SQL (``sql/ddl``, ``sql/queries``), the Great Expectations suites (``expectations/``),
the default configuration (``config/``: ``hearth.toml``, ``rules.toml``,
``gp_practices.csv``) and the report template are part of the product, not of a site's
data. In a checkout they sit at the project root, where people edit them; the wheel
carries copies under ``pipeline/_data/``, so a worker that only ``pip install``-ed hearth
finds them too. This module is the one place that decides which copy is read.

A site's own choices still win: ``HEARTH_CONFIG`` names another configuration file, and
``rules_file``, ``expectations_dir``, ``warehouse`` and the other paths in it (or in
``HEARTH_*`` variables) override the packaged defaults (see ``pipeline.config``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pipeline.errors import ConfigError

Shipped = Literal["sql", "expectations", "config", "templates"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE_DIR.parent
# The wheel maps the project-root folders here (pyproject: wheel force-include).
_PACKAGED = "_data"


def from_checkout() -> bool:
    """True when the code runs from a source checkout (editable installs included): the
    project-root folders sit beside the package and the wheel's copies do not exist."""
    return not (_PACKAGE_DIR / _PACKAGED).is_dir() and (_CHECKOUT / "sql" / "ddl").is_dir()


def checkout_root() -> Path | None:
    """The checkout the code runs from, or None when hearth is installed."""
    return _CHECKOUT if from_checkout() else None


def work_root() -> Path:
    """Where default data paths (``data/landing``, ``data/warehouse.duckdb``) start: the
    checkout, or, for an installed hearth, the directory it was started from."""
    return checkout_root() or Path.cwd()


def shipped(name: Shipped) -> Path:
    """The folder of shipped files called ``name``, from the checkout or the installed
    package. Raises ConfigError when neither holds it (a broken install)."""
    if name == "templates":
        # The template already lives inside the package, in a checkout and in the wheel.
        candidate = resources.files("pipeline") / "templates"
    elif from_checkout():
        candidate = _CHECKOUT / name
    else:
        candidate = resources.files("pipeline") / _PACKAGED / name
    if not isinstance(candidate, Path) or not candidate.is_dir():
        raise ConfigError(
            f"hearth's {name}/ files were not found (looked for {candidate}). Reinstall hearth "
            "from its wheel, or run it from a complete checkout; hearth cannot run from a zip."
        )
    return candidate
