"""The gate every service call passes: authorize the principal, record refusals, and the
audit log itself (``vecron audit list``, the API's audit endpoint).

A change's own entry is written by the store in the change's transaction (each mutating
store method takes ``audit=``); only what changes nothing goes through
:meth:`Gate.record`: a refused attempt, a secret revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Unpack

from vecron.auth import AuditEntry, AuditFilters, AuditOutcome, Permission, Principal, authorize
from vecron.clock import utcnow
from vecron.errors import PermissionDenied
from vecron.ids import new_id
from vecron.store.base import Store
from vecron.telemetry import get_logger

log = get_logger("vecron.audit")


class Gate:
    """Authorizes a principal for an action and builds the audit entries of the services."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def entry(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        outcome: AuditOutcome = AuditOutcome.OK,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return AuditEntry.of(
            principal,
            action,
            resource,
            at=self.clock(),
            id=new_id(),
            outcome=outcome,
            detail=detail,
        )

    async def check(
        self, principal: Principal, permission: Permission, action: str, resource: str
    ) -> None:
        """Let ``principal`` do ``action`` on ``resource`` if it holds ``permission``.

        :raises PermissionDenied: it does not; the refusal is in the audit log.
        """
        try:
            authorize(principal, permission, resource)
        except PermissionDenied:
            await self.record(
                self.entry(
                    principal,
                    action,
                    resource,
                    outcome=AuditOutcome.DENIED,
                    detail={"permission": permission.value},
                )
            )
            raise

    async def record(self, entry: AuditEntry) -> None:
        """Write an entry that goes with no change. A store that cannot take it is
        logged, never allowed to turn a refusal into a different error."""
        try:
            await self.store.add_audit(entry)
        except Exception as exc:
            log.warning(
                "audit entry not recorded",
                action=entry.action,
                resource=entry.resource,
                actor=entry.actor,
                error=str(exc)[:300],
            )


class AuditService:
    """Read the audit log; only a principal with ``user:admin`` may."""

    def __init__(self, store: Store, gate: Gate | None = None) -> None:
        self.store = store
        self.gate = gate or Gate(store)

    async def list(self, principal: Principal, **filters: Unpack[AuditFilters]) -> list[AuditEntry]:
        """Entries matching every filter given, newest first."""
        await self.gate.check(principal, Permission.USER_ADMIN, "audit.read", "audit")
        since = filters.get("since")
        if since is not None and since.tzinfo is None:
            filters["since"] = since.replace(tzinfo=UTC)  # the log is kept in UTC
        return await self.store.list_audit(**filters)
