"""``tune_for_serving``: what a long-running vecron process changes in its interpreter."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from vecron import tune_for_serving
from vecron.runtime import SWITCH_INTERVAL_SECONDS


@pytest.fixture
def restored() -> Iterator[None]:
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_it_freezes_start_up_objects_and_hands_the_gil_over_sooner(restored: None) -> None:
    before = gc.get_freeze_count()
    tune_for_serving()
    assert gc.get_freeze_count() > before
    assert gc.get_threshold()[0] >= 10_000
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_SECONDS)
    assert SWITCH_INTERVAL_SECONDS < 0.005  # below Python's default, or it changes nothing
