"""The gate every service call passes: authorize the principal, record refusals, and the
audit log itself (``vecron audit list``, the API's audit endpoint).

A change's own entry is written by the store in the change's transaction (each mutating
store method takes ``audit=``); only what changes nothing goes through
:meth:`Gate.record`: a refused attempt, a secret revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Unpack

from vecron.auth import AuditEntry, AuditFilters, AuditOutcome, Permission, Principal, authorize
from vecron.auth.audit import DEFAULT_AUDIT_LIMIT
from vecron.clock import utcnow
from vecron.errors import PermissionDenied
from vecron.ids import new_id
from vecron.services.paging import Listing, check_limit, time_position, utc_or_none
from vecron.services.views.pages import Page
from vecron.store.base import Store
from vecron.telemetry import get_logger

#: Made once: pydantic keeps a parametrized model only while something refers to it,
#: and making it again on every call costs most of a millisecond.
AuditPage = Page[AuditEntry]


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

    async def list(
        self, principal: Principal, *, cursor: str | None = None, **filters: Unpack[AuditFilters]
    ) -> Page[AuditEntry]:
        """Entries matching every filter given (``actor``, ``resource``, ``action``,
        ``since``: at or after; a naive time is UTC), newest first, a page of at most
        ``limit`` (1 to 500; default 100). ``cursor``: the previous page's
        ``next_cursor``, with the same filters. Permission ``user:admin``.

        :raises ValidationError: ``limit`` out of range; a bad cursor (field ``cursor``).
        :raises PermissionDenied: without ``user:admin``.
        """
        await self.gate.check(principal, Permission.USER_ADMIN, "audit.read", "audit")
        limit = check_limit(filters.get("limit", DEFAULT_AUDIT_LIMIT))
        since = utc_or_none(filters.get("since"))
        if since is not None:
            filters["since"] = since  # the log is kept in UTC
        listing = Listing(
            "audit",
            {
                "actor": filters.get("actor"),
                "resource": filters.get("resource"),
                "action": filters.get("action"),
                "since": None if since is None else since.isoformat(),
            },
        )
        before = time_position(listing.position(cursor, 2))
        filters["limit"] = limit + 1  # one more: is there a next page?
        found = await self.store.list_audit(before=before, **filters)
        items, next_cursor = listing.page(
            found, limit, lambda e: (e.at.isoformat(), e.id), lambda e: e
        )
        return AuditPage(items=items, next_cursor=next_cursor)

    async def unauthenticated(
        self, *, action: str, resource: str, address: str | None, reason: str
    ) -> None:
        """Record a request refused for want of valid credentials (the API's 401 on a
        state-changing route): who is unknown, so the actor is ``anonymous``."""
        caller = Principal(
            subject=ANONYMOUS, permissions=frozenset(), source="api", address=address
        )
        await self.gate.record(
            self.gate.entry(
                caller, action, resource, outcome=AuditOutcome.DENIED, detail={"reason": reason}
            )
        )


#: The actor of an attempt made without valid credentials.
ANONYMOUS = "anonymous"
