"""The one place logging is configured.

Libraries log through ``logging.getLogger(__name__)``; only entry points (CLI, DAG tasks,
tests) call :func:`configure_logging`. It also silences the import-time floods of Great
Expectations (~200 INFO lines from ``great_expectations._docs_decorators``) and Airflow,
which must be tamed *before* those packages are imported.
"""

from __future__ import annotations

import logging
import os

_NOISY = (
    "great_expectations", "airflow", "alembic", "py.warnings", "numexpr", "matplotlib", "recordlinkage",
)


def quiet_third_party() -> None:
    """Raise noisy third-party loggers to WARNING. Safe to call many times, cheap, idempotent."""
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str | int | None = None) -> None:
    """Configure hearth's own logger (never the root logger's level)."""
    quiet_third_party()
    level = level or os.environ.get("HEARTH_LOG_LEVEL", "INFO")
    logger = logging.getLogger("pipeline")
    logger.setLevel(level)
    if not any(getattr(h, "_hearth", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._hearth = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
