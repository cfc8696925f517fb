"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pluggy
import pytest
from hypothesis import settings as hypothesis_settings

from tests.support import steps as support_steps
from vecron.plugin.manager import get_plugin_manager
from vecron.runtime import Runtime
from vecron.settings import Settings

# Property tests explore the same examples on every run: CI stays deterministic, and a
# failure seen once is seen again. (Run with HYPOTHESIS_PROFILE=explore to search anew.)
hypothesis_settings.register_profile("deterministic", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


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
