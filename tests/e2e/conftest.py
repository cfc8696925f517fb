"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster


@pytest.fixture
def cluster(tmp_path: Path, env: dict[str, str]) -> Iterator[Cluster]:
    """Real vecron processes with the test module's ``env``; whatever still runs at the
    end is stopped."""
    c = Cluster(tmp_path, env)
    try:
        yield c
    finally:
        c.stop_all()
