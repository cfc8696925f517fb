"""vecron started in a fresh working directory, with its default state folder
``./.vecron``: what a first ``vecron up`` leaves behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from vecron.auth import LOCAL_OPERATOR
from vecron.runtime import Runtime
from vecron.settings import Settings


@asynccontextmanager
async def fresh_state(root: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A started Runtime working in ``root``; a secret variable made it write its key."""
    monkeypatch.chdir(root)
    settings = Settings(
        database_url="sqlite+aiosqlite:///./.vecron/vecron.db",
        storage_url="file://./.vecron/storage",
        port=0,
    )
    async with Runtime(settings) as runtime:
        await runtime.variables.set(LOCAL_OPERATOR, "TOKEN", "s3cret-value", secret=True)
        yield runtime
