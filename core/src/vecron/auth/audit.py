"""Audit entries: who did what to which resource, when, from where, and how it ended (S8.3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vecron.auth.principal import Principal


class AuditOutcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


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
