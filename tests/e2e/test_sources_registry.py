"""Every source of the registry goes through every stage its spec names: validated, staged,
linked (where its spec says so), purged and shown. Walked over the synthetic county, so a
source added to the registry but forgotten by a stage fails here."""

from __future__ import annotations

import polars as pl
import pytest

from e2e.conftest import County
from pipeline.operate import retention
from pipeline.operate.explain import _SOURCE_WORDS
from pipeline.outputs.report import _agency_label
from pipeline.paths import shipped
from pipeline.publish import warehouse
from pipeline.sources import REGISTRY, SourceSpec
from pipeline.validate import checks as validate

pytestmark = pytest.mark.xdist_group("e2e_county")

SPECS = pytest.mark.parametrize("spec", REGISTRY, ids=[s.name for s in REGISTRY])


def _rows(county: County, sql: str, **params: object) -> pl.DataFrame:
    with warehouse.open_reader(county.settings.warehouse) as wh:
        return wh.con.sql(sql, params=params or None).pl()


@SPECS
def test_every_source_is_validated_and_staged(county: County, spec: SourceSpec) -> None:
    assert spec.name in validate._ORDER
    assert (shipped("expectations") / f"{spec.name}.json").exists()
    assert spec.name in validate._KEYS
    checked = _rows(county, "SELECT count(*) AS n FROM audit.dq_results WHERE source = $s", s=spec.name)
    assert checked["n"][0] > 0, f"{spec.name}: no data-quality result recorded"
    for table in (spec.raw_table, spec.staging_table):
        assert table in warehouse.TABLES
        staged = _rows(county, "SELECT count(*) AS n FROM query_table($t)", t=table)
        assert staged["n"][0] > 0, f"{spec.name}: nothing in {table}"


@SPECS
def test_every_source_is_linked_where_its_spec_says(county: County, spec: SourceSpec) -> None:
    linked = _rows(
        county,
        "SELECT DISTINCT link_type FROM audit.link_decisions "
        "WHERE starts_with(left_id, $p) OR starts_with(right_id, $p)",
        p=f"{spec.name}:",
    )
    assert set(linked["link_type"]) == set(spec.link_types)
    if spec.child_label:
        labels = _rows(county, "SELECT DISTINCT unnest(sources) AS s FROM marts.child_index")
        assert spec.child_label in set(labels["s"])


@SPECS
def test_every_source_is_purged(spec: SourceSpec) -> None:
    assert spec.raw_table in retention.PURGEABLE
    assert spec.staging_table in retention.PURGEABLE
    policy = retention.RetentionPolicy()
    expected = policy.police_days if spec.retention == "police" else policy.register_days
    assert policy.days_for(spec.staging_table) == expected
    assert policy.days_for(spec.raw_table) == policy.raw_days


@SPECS
def test_every_source_is_shown(county: County, spec: SourceSpec) -> None:
    if spec.child_label:
        assert _SOURCE_WORDS[spec.child_label] == spec.words
    if spec.agency:
        sample = f"{spec.agency.tag}:X1" if spec.agency.column else spec.agency.tag
        assert spec.agency.label.split()[0] in _agency_label(sample)
        agencies = _rows(county, "SELECT DISTINCT unnest(agencies) AS a FROM marts.mash_list")
        assert any(a == spec.agency.tag or a.startswith(f"{spec.agency.tag}:") for a in agencies["a"])


def test_the_registry_names_each_table_once() -> None:
    tables = [t for s in REGISTRY for t in (s.raw_table, s.staging_table)]
    assert len(tables) == len(set(tables))
    assert len({s.name for s in REGISTRY}) == len(REGISTRY)
