"""The keys that sign access tokens: random 256-bit HS256 keys, sealed in the database.

The newest key that is not retired signs; every key still listed verifies, so tokens
signed before a rotation stay valid until they expire. A token names its key in the
``kid`` header, which is only ever a dictionary lookup here, never a path or a query.
Several API processes share the table: a ``kid`` this process does not know makes it
reload the table (at most once per :data:`RELOAD_INTERVAL`), which is how a rotation
done elsewhere reaches it.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, insert, select, update

from vecron import Database

from .tables import signing_keys

#: What a key id may look like; anything else is refused before any lookup.
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Least time between two reloads caused by unknown key ids.
RELOAD_INTERVAL = timedelta(seconds=1)
#: A process re-reads the table this often anyway, to start signing with a key rotated in
#: by another process.
REFRESH_INTERVAL = timedelta(seconds=60)
SEALED_NAME = "access token signing key"


class Sealer(Protocol):
    """vecron's secret box (``AuthServices.secrets``): seals values at rest."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str, *, name: str | None = None) -> str: ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    secret: bytes
    created_at: datetime
    retired_at: datetime | None = None


class SigningKeys:
    """This process's view of the signing keys table.

    ``keep_retired``: how long a retired key still verifies (the access token life
    plus the leeway); after that it is deleted.
    """

    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        *,
        clock: Callable[[], datetime],
        keep_retired: timedelta,
    ) -> None:
        self._database = database
        self._sealer = sealer
        self._clock = clock
        self._keep_retired = keep_retired
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at: datetime | None = None

    async def start(self) -> None:
        """Load the keys; make the first one when there is none that signs."""
        await self._prune()
        await self._load()
        if not self._active():
            await self._add(retire_others=False)

    async def current(self) -> SigningKey:
        """The key to sign with: the newest one not retired."""
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= REFRESH_INTERVAL:
            await self._load()
        active = self._active()
        if not active:  # every key was retired elsewhere and none added yet
            await self._add(retire_others=False)
            active = self._active()
        return active[-1]

    async def lookup(self, kid: str) -> bytes | None:
        """The secret of key ``kid`` (already checked against :data:`KID`), or None."""
        found = self._keys.get(kid)
        if found is None and (
            self._loaded_at is None or self._clock() - self._loaded_at >= RELOAD_INTERVAL
        ):
            await self._load()
            found = self._keys.get(kid)
        return None if found is None else found.secret

    async def rotate(self) -> SigningKey:
        """Add a new key that signs from now on; the others are retired and verify until
        their tokens expire. :returns: the new key."""
        return await self._add(retire_others=True)

    def _active(self) -> list[SigningKey]:
        return sorted(
            (key for key in self._keys.values() if key.retired_at is None),
            key=lambda key: (key.created_at, key.kid),
        )

    async def _add(self, *, retire_others: bool) -> SigningKey:
        now = self._clock()
        secret = secrets.token_bytes(32)
        key = SigningKey(kid=secrets.token_urlsafe(12), secret=secret, created_at=now)
        sealed = self._sealer.encrypt(base64.urlsafe_b64encode(secret).decode())
        await self._prune()
        async with self._database.begin() as conn:
            if retire_others:
                await conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.retired_at.is_(None))
                    .values(retired_at=now)
                )
            await conn.execute(
                insert(signing_keys).values(
                    kid=key.kid, sealed_key=sealed, created_at=now, retired_at=None
                )
            )
        await self._load()
        return key

    async def _prune(self) -> None:
        """Delete the keys retired so long ago that no token they signed is still valid."""
        expired = self._clock() - self._keep_retired
        async with self._database.begin() as conn:
            await conn.execute(delete(signing_keys).where(signing_keys.c.retired_at < expired))

    async def _load(self) -> None:
        now = self._clock()
        expired = now - self._keep_retired
        async with self._database.connect() as conn:
            rows = (await conn.execute(select(signing_keys))).mappings().all()
        keys = {}
        for row in rows:
            if row["retired_at"] is not None and row["retired_at"] < expired:
                continue
            opened = self._sealer.decrypt(row["sealed_key"], name=SEALED_NAME)
            keys[row["kid"]] = SigningKey(
                kid=row["kid"],
                secret=base64.urlsafe_b64decode(opened),
                created_at=row["created_at"],
                retired_at=row["retired_at"],
            )
        self._keys = keys
        self._loaded_at = now
