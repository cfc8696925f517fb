"""Principals and the one rule that decides what they may do (SPEC S8.2).

Every service call that reads or changes state takes a :class:`Principal` and calls
:func:`authorize` before it touches anything. Front ends never check permissions: the CLI
acts as :data:`LOCAL_OPERATOR`, the API's auth backends only turn a request into a
principal, and the scheduler fires as :data:`SCHEDULER`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vecron.errors import PermissionDenied


class Permission(StrEnum):
    """The permissions of SPEC S8.2; roles are named sets of these."""

    JOB_READ = "job:read"
    JOB_WRITE = "job:write"
    JOB_EXECUTE = "job:execute"
    JOB_DELETE = "job:delete"
    EXECUTION_READ = "execution:read"
    VARIABLE_READ = "variable:read"
    VARIABLE_WRITE = "variable:write"
    USER_ADMIN = "user:admin"


ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who acts: a user, an API key, the local operator or vecron itself.

    ``source`` says through which front end (``cli``, ``api``, ``webhook``, ``scheduler``)
    and ``address`` from where (a client IP, a host name); both go into the audit log.
    """

    subject: str
    permissions: frozenset[Permission]
    roles: frozenset[str] = field(default_factory=frozenset)
    source: str = "cli"
    address: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


LOCAL_OPERATOR = Principal(
    subject="local-operator",
    permissions=ALL_PERMISSIONS,
    roles=frozenset({"admin"}),
    source="cli",
)
"""Whoever runs the CLI on the machine: the database and secret key are already theirs."""

SCHEDULER = Principal(
    subject="vecron-scheduler",
    permissions=frozenset({Permission.JOB_READ, Permission.JOB_EXECUTE}),
    source="scheduler",
)
"""vecron itself, firing jobs on their schedules."""


def authorize(principal: Principal, permission: Permission, resource: str) -> None:
    """Allow or refuse ``principal`` doing ``permission`` on ``resource``.

    :raises PermissionDenied: the principal lacks the permission.
    """
    if not principal.can(permission):
        raise PermissionDenied(
            f"{principal.subject} may not {permission.value} on {resource}",
            permission=permission.value,
            resource=resource,
        )
