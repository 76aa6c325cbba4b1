"""Fixtures shared by the tests (plain helpers are in ``tests/helpers.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from generator import RunResult
from tests.helpers import run_examples as _run_examples


@pytest.fixture
def run_examples(tmp_path: os.PathLike[str]) -> Callable[..., tuple[RunResult, str]]:
    """Generate from examples/ into a fresh folder under tmp_path; returns (result, folder)."""
    counter = [0]

    def run(users: int = 50, seed: int = 1, **kwargs: object) -> tuple[RunResult, str]:
        counter[0] += 1
        folder = os.path.join(os.fspath(tmp_path), f"run{counter[0]}")
        return _run_examples(folder, users, seed, **kwargs), folder

    return run
