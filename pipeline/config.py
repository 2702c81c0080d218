"""Run configuration: a TOML file with environment overrides.

Precedence (highest first): explicit arguments (CLI flags / Airflow params) → environment
variables ``HEARTH_<FIELD>`` (nested: ``HEARTH_LINKAGE__MATCH_THRESHOLD``) → the TOML file
named by ``HEARTH_CONFIG`` (default ``config/hearth.toml``, the checkout's or, for an
installed hearth, the copy in the package) → the defaults below.
Default data paths start at the checkout, or for an installed hearth at the working directory
(``pipeline.paths``).
Secrets (the encryption key) come only from the environment, never from a file in git.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError
from pipeline.paths import shipped, work_root

PROJECT_ROOT = work_root()
DEFAULT_CONFIG_FILE = shipped("config") / "hearth.toml"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
# DuckDB's share of a night's memory: at 350 000 households its cache otherwise added ~0.9 GB
# to the polars frames of linkage, over the 3 GB a night may use (docs/performance.md).
DEFAULT_MEMORY_LIMIT = "1GB"
MEMORY_LIMIT_PATTERN = r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$"


def default_reports_dir(warehouse: Path) -> Path:
    """``reports/`` beside ``warehouse.duckdb``; ``<name>-reports/`` beside any other name,
    so two warehouses in one folder never share (and overwrite) each other's reports."""
    warehouse = Path(warehouse)
    name = "reports" if warehouse.stem == "warehouse" else f"{warehouse.stem}-reports"
    return warehouse.parent / name


class IngestSettings(BaseModel):
    register_max_age_days: int = Field(7, ge=0, description="fail when a register snapshot is older")
    register_max_drop_share: float = Field(
        0.10, ge=0, le=1, description="fail when a snapshot shrinks by more than this share"
    )
    police_max_reject_share: float = Field(
        0.05, ge=0, le=1, description="fail when more than this share of a police file is rejected"
    )
    police_min_rejects: int = Field(
        5, ge=0, description="...and only when at least this many rows were rejected"
    )
    register_max_age_years: int = Field(18, description="register children older than this are rejected")


class LinkageSettings(BaseModel):
    match_threshold: float = Field(0.95, description="posterior match probability accepted automatically")
    review_threshold: float = Field(0.50, description="pairs between this and match_threshold go to clerical review")
    ambiguity_margin: float = Field(
        3.0, ge=0,
        description="a police child's best register match must outweigh the next record of that "
        "register by this many bits (log2 Bayes factor), else both go to review",
    )
    em_max_iterations: int = 25
    em_sample_pairs: int = Field(2_000_000, description="pairs sampled to estimate u-probabilities")
    u_max_age_days: int = Field(
        7, ge=0,
        description="reuse a model's u-probabilities estimated up to this many days before (0: estimate "
        "every night); a new estimate is made sooner when the record counts move by more than u_max_size_change",
    )
    u_max_size_change: float = Field(
        0.05, ge=0,
        description="relative change in records that forces a new u estimate, and on an incremental night "
        "a new fit of the model the last full re-link fitted",
    )
    full_relink_every_days: int = Field(
        7, ge=0,
        description="compare every candidate pair afresh (not reusing stored comparisons) and fit the models "
        "again at least this often (0: every night); in between, nights keep the full re-link's fitted models",
    )
    full_relink_review_records: int = Field(
        500, ge=0,
        description="re-link in full when reviewers' decisions since the last full re-link touch more records",
    )
    audit_min_probability: float = Field(
        0.001, ge=0, le=1,
        description="automatic non-matches scoring below this are counted, not written to audit",
    )


class RetentionSettings(BaseModel):
    """How long rows are kept (the only place the defaults are written). raw is a forensic
    copy for reprocessing a delivery: kept long enough to rerun any night of the last
    quarter. Police staging versions are kept for the flag look-back (365 days) plus a
    margin for reruns and audits; register snapshots for one year."""

    raw_days: int = Field(92, ge=1, description="days raw rows are kept after delivery")
    police_days: int = Field(730, ge=1, description="days staged police versions are kept")
    register_days: int = Field(365, ge=1, description="days staged register snapshots are kept")
    history_days: int | None = Field(
        None, ge=1,
        description="days past linkage nights stay reconstructable from linked.* histories; "
        "unset: as long as the audit trail, which hearth never deletes",
    )


class Settings(BaseSettings):
    """Everything a night needs to know that is not in the data."""

    model_config = SettingsConfigDict(
        env_prefix="HEARTH_", env_nested_delimiter="__", extra="ignore", toml_file=None
    )

    landing_dir: Path = PROJECT_ROOT / "data" / "landing"
    warehouse: Path = DEFAULT_WAREHOUSE
    reports_dir: Path = PROJECT_ROOT / "data" / "reports"  # in fact set by _reports_beside_the_warehouse
    rules_file: Path = shipped("config") / "rules.toml"
    expectations_dir: Path = shipped("expectations")
    ingest: IngestSettings = IngestSettings()  # type: ignore[call-arg]
    linkage: LinkageSettings = LinkageSettings()  # type: ignore[call-arg]
    retention: RetentionSettings = RetentionSettings()  # type: ignore[call-arg]
    encryption_key: str | None = Field(None, repr=False, exclude=True)
    warehouse_memory_limit: str = Field(
        DEFAULT_MEMORY_LIMIT, pattern=MEMORY_LIMIT_PATTERN,
        description="most memory DuckDB may hold in a night's process (beyond it, it spills to a "
        "folder beside the warehouse); polars' linkage frames come on top",
    )
    pseudonym_key: str | None = Field(None, repr=False, exclude=True)
    progress: bool | None = Field(None, description="force progress output on/off (default: only on a TTY)")
    shared_incidents_dir: Path | None = Field(
        None,
        description="in a force-wide deployment, where the police router lists the incidents this "
        "authority shares with others (<dir>/<date>.csv); the list then says who else has them",
    )
    access_log_wait_seconds: float = Field(
        10.0, ge=0,
        description="how long a viewing command waits for the writer (a running night) to log the access",
    )

    @model_validator(mode="before")
    @classmethod
    def _reports_beside_the_warehouse(cls, data: Any) -> Any:
        # Reports belong to the warehouse they were made from: unless a reports folder is
        # configured, they go beside the warehouse, so a test or a second warehouse can
        # never overwrite the service's reports.
        if isinstance(data, dict) and data.get("reports_dir") is None:
            data = {**data, "reports_dir": default_reports_dir(Path(data.get("warehouse") or DEFAULT_WAREHOUSE))}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("HEARTH_CONFIG", DEFAULT_CONFIG_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def public_dict(self) -> dict[str, Any]:
        """The configuration as recorded in ``audit.runs`` (no secrets)."""
        return self.model_dump(mode="json", exclude={"encryption_key", "pseudonym_key"})


def load_settings(**overrides: Any) -> Settings:
    """Load settings, letting explicit non-None keyword overrides win."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid configuration ({problems}). Check {os.environ.get('HEARTH_CONFIG', DEFAULT_CONFIG_FILE)} "
            "and the HEARTH_* environment variables."
        ) from None
