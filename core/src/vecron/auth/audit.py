"""Audit entries: who did what to which resource, when, from where, and how it ended (S8.3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from vecron.auth.principal import Principal


class AuditOutcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


#: How many entries a listing returns when it names no ``limit``.
DEFAULT_AUDIT_LIMIT = 100


class AuditFilters(TypedDict, total=False):
    """Which entries to list (the store's, the service's and the CLI's one set of
    filters): those matching every filter given, newest first."""

    actor: str | None
    resource: str | None
    action: str | None
    since: datetime | None
    """At or after."""
    limit: int
    """At most this many (:data:`DEFAULT_AUDIT_LIMIT` when not given)."""


class AuditEntry(BaseModel):
    """One state change (or a refused attempt), recorded with the change it describes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    at: datetime
    actor: str
    source: str
    address: str | None = None
    action: str
    """``job.create``, ``job.update``, ``job.delete``, ``job.run``, ``variable.set`` …"""
    resource: str
    """``job:<name>``, ``execution:<id>``, ``variable:<name>``."""
    outcome: AuditOutcome = AuditOutcome.OK
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls,
        principal: Principal,
        action: str,
        resource: str,
        *,
        at: datetime,
        id: str,
        outcome: AuditOutcome = AuditOutcome.OK,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return cls(
            id=id,
            at=at,
            actor=principal.subject,
            source=principal.source,
            address=principal.address,
            action=action,
            resource=resource,
            outcome=outcome,
            detail=detail or {},
        )
