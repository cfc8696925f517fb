"""Real receivers for the notifiers: an SMTP server with STARTTLS and a login, a webhook
receiver that verifies signatures, and a peer that accepts and never answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.alert_receivers import mail, receiver  # noqa: F401  (fixtures)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port whose server accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
