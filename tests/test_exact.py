"""exp, log and power give the same bits as floats and as arrays (so the plain model and the batch
engine agree on every machine), and are accurate to a few units in the last place."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import exact

NEGATIVE = st.floats(-745.0, 0.0)
POSITIVE = st.floats(min_value=5e-324, max_value=1e300, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-800.0, 709.0), min_size=1, max_size=40))
def test_exp_is_the_same_bits_as_a_float_and_in_an_array(values: list[float]) -> None:
    array = exact.exp(np.array(values))
    assert array.tolist() == [exact.exp(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(POSITIVE, min_size=1, max_size=40))
def test_log_is_the_same_bits_as_a_float_and_in_an_array(values: list[float]) -> None:
    array = exact.log(np.array(values))
    assert array.tolist() == [exact.log(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 50.0))
def test_power_is_the_same_bits_as_a_float_and_in_an_array(x: float, y: float) -> None:
    assert exact.power(np.array([x]), y).tolist() == [exact.power(x, y)]


def test_they_are_accurate_to_a_few_units_in_the_last_place() -> None:
    rng = np.random.default_rng(4)
    xs = np.concatenate([-rng.exponential(5.0, 20_000), rng.uniform(-700.0, 700.0, 20_000)])
    assert np.max(np.abs(exact.exp(xs) / np.exp(xs) - 1.0)) < 4e-16
    ys = np.concatenate([rng.uniform(1e-300, 1.0, 20_000), rng.exponential(1e6, 20_000) + 1e-9])
    error = np.abs(exact.log(ys) - np.log(ys)) / np.maximum(np.abs(np.log(ys)), 1e-300)
    assert np.max(error) < 1e-15
    assert exact.exp(0.0) == 1.0 and exact.log(1.0) == 0.0 and exact.power(0.0, 2.0) == 0.0
    assert exact.exp(-1000.0) == 0.0
    assert exact.power(0.5, 2.0) == pytest.approx(0.25, rel=1e-15)
    assert exact.exp(-1.0) == pytest.approx(math.exp(-1.0), rel=1e-16)


def test_arguments_outside_the_domain_are_refused() -> None:
    for bad in (710.0, math.nan):
        with pytest.raises(ValueError):
            exact.exp(bad)
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError):
            exact.log(bad)
