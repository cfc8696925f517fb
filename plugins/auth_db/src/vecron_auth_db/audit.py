"""Audit entries of the backend (logins, user and role changes, refused attempts),
recorded through vecron's audit log (``AuthServices.audit``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from vecron import (
    AuditEntry,
    AuditOutcome,
    Permission,
    PermissionDenied,
    Principal,
    VecronError,
    authorize,
)

Outcome = Literal["ok", "denied", "failed"]


class Auditor:
    """Checks permissions and records what happened, refusals included."""

    def __init__(
        self, record: Callable[[AuditEntry], Awaitable[None]], clock: Callable[[], datetime]
    ) -> None:
        self._record = record
        self._clock = clock

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        """Allow ``principal`` to administer users and roles, or record the refusal.

        :raises PermissionDenied: the principal lacks ``user:admin``.
        """
        try:
            authorize(principal, Permission.USER_ADMIN, resource)
        except PermissionDenied:
            await self.record(principal, action, resource, "denied")
            raise

    @asynccontextmanager
    async def change(
        self, principal: Principal, action: str, resource: str
    ) -> AsyncIterator[dict[str, Any]]:
        """``async with auditor.change(...) as detail:`` authorizes, runs the block and
        records how it ended (``ok`` with ``detail``, or ``failed`` with the error's
        code); put only what is safe to keep into ``detail``."""
        await self.authorize(principal, action, resource)
        detail: dict[str, Any] = {}
        try:
            yield detail
        except VecronError as exc:
            await self.record(principal, action, resource, "failed", {**detail, "code": exc.code})
            raise
        await self.record(principal, action, resource, "ok", detail)

    async def record(
        self,
        principal: Principal,
        action: str,
        resource: str,
        outcome: Outcome = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._record(
            AuditEntry.of(
                principal,
                action,
                resource,
                at=self._clock(),
                id=str(uuid.uuid4()),
                outcome=AuditOutcome(outcome),
                detail=detail,
            )
        )
