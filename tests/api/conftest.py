"""The API in-process on a real runtime (SQLite in a temp folder) and aiohttp's test
client; credentials from the static-token test backend (tests/support/static_tokens.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.harness import Api, api_settings, served


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with served(api_settings(tmp_path)) as found:
        yield found
