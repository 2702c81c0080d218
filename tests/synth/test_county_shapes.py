"""The household mix of the synthetic county."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import UsageError
from pipeline.synth.county import _CHILD_SHAPES, _SHAPE_P, shape_probabilities


def test_the_default_mix_is_the_shipped_one() -> None:
    # The default county's bytes depend on it: every earlier figure was measured on it.
    assert np.array_equal(shape_probabilities(), _SHAPE_P / _SHAPE_P.sum())


@pytest.mark.parametrize("share", [0.1, 0.65, 0.9])
def test_a_larger_share_of_families_keeps_each_group_in_proportion(share: float) -> None:
    p = shape_probabilities(share)
    assert p.sum() == pytest.approx(1.0)
    assert p[_CHILD_SHAPES].sum() == pytest.approx(share)
    base = shape_probabilities()
    for group in (_CHILD_SHAPES, ~_CHILD_SHAPES):
        assert p[group] / p[group].sum() == pytest.approx(base[group] / base[group].sum())


@pytest.mark.parametrize("share", [0.0, 1.0, -0.2, 1.5])
def test_a_share_outside_zero_and_one_is_refused(share: float) -> None:
    with pytest.raises(UsageError, match="between 0 and 1"):
        shape_probabilities(share)
