"""Fixtures for the ``files`` executor tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from .support import Harness, open_harness


@pytest_asyncio.fixture
async def files(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await open_harness(tmp_path)
    try:
        yield harness
    finally:
        await harness.storage.close()
