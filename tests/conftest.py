"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pluggy
import pytest

from tests.support import steps as support_steps
from vecron.plugins import get_plugin_manager
from vecron.runtime import Runtime
from vecron.settings import Settings


@pytest.fixture
def calls() -> Iterator[type[support_steps.Calls]]:
    support_steps.Calls.reset()
    yield support_steps.Calls
    support_steps.Calls.reset()


@pytest.fixture
def test_pm() -> pluggy.PluginManager:
    """Installed plugins plus the test executors."""
    pm = get_plugin_manager()
    pm.register(support_steps, name="vecron-test-steps")
    return pm


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        storage_url=f"file://{tmp_path}/storage",
        port=0,
        worker_concurrency=50,
        lease_seconds=30,
    )


@pytest.fixture
async def runtime(
    sqlite_settings: Settings, test_pm: pluggy.PluginManager
) -> AsyncIterator[Runtime]:
    async with Runtime(sqlite_settings, pm=test_pm) as rt:
        yield rt
