"""The role service: the built-in roles and custom ones over vecron's permissions.

Built-in roles (``admin``, ``operator``, ``viewer``) mean the same everywhere and cannot
be changed; custom roles are stored here. A role still held by a user cannot be
deleted, and no change may leave the installation without an administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from vecron import BUILTIN_ROLES, ConflictError, Database, NotFoundError, Principal

from . import records
from .audit import Auditor
from .records import RoleRecord
from .tables import roles
from .users import keep_an_administrator
from .views import RoleCreate, RoleUpdate, RoleView

BUILTIN_DESCRIPTIONS = {
    "admin": "Everything, managing users and roles included.",
    "operator": "Runs the scheduler day to day: jobs, runs and variables; "
    "neither deletes jobs nor manages users.",
    "viewer": "Reads jobs, executions and variables (secret values stay masked).",
}


def builtin_view(name: str) -> RoleView:
    return RoleView(
        name=name,
        permissions=sorted(BUILTIN_ROLES[name]),
        description=BUILTIN_DESCRIPTIONS.get(name, ""),
        builtin=True,
    )


def custom_view(role: RoleRecord) -> RoleView:
    return RoleView(
        name=role.name,
        permissions=sorted(role.permissions),
        description=role.description,
        builtin=False,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


def not_found(name: str) -> NotFoundError:
    return NotFoundError(f"no role named {name!r}", reason="role-not-found")


def builtin(name: str) -> ConflictError:
    return ConflictError(f"{name!r} is a built-in role", reason="builtin-role")


class RoleService:
    """Roles of the database auth backend (``user:admin``)."""

    def __init__(self, database: Database, auditor: Auditor, clock: Callable[[], datetime]) -> None:
        self._database = database
        self._audit = auditor
        self._clock = clock

    async def list(self, principal: Principal) -> list[RoleView]:
        await self._audit.authorize(principal, "role.list", "role:*")
        async with self._database.connect() as conn:
            custom = await records.custom_roles(conn)
        return [builtin_view(name) for name in BUILTIN_ROLES] + [
            custom_view(role) for role in custom.values()
        ]

    async def get(self, principal: Principal, name: str) -> RoleView:
        await self._audit.authorize(principal, "role.read", f"role:{name}")
        if name in BUILTIN_ROLES:
            return builtin_view(name)
        return await self._view(name)

    async def create(self, principal: Principal, new: RoleCreate) -> RoleView:
        """:raises ConflictError: the name is taken (built-in names included)."""
        async with self._audit.change(principal, "role.create", f"role:{new.name}") as detail:
            if new.name in BUILTIN_ROLES:
                raise builtin(new.name)
            now = self._clock()
            permissions = sorted({p.value for p in new.permissions})
            try:
                async with self._database.begin() as conn:
                    await conn.execute(
                        insert(roles).values(
                            name=new.name,
                            permissions=permissions,
                            description=new.description,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                raise ConflictError(
                    f"a role named {new.name!r} exists", reason="role-exists"
                ) from None
            detail["permissions"] = permissions
        return await self._view(new.name)

    async def update(self, principal: Principal, name: str, change: RoleUpdate) -> RoleView:
        """:raises NotFoundError: no such custom role. :raises ConflictError: a built-in
        role, or the change would leave no administrator."""
        async with self._audit.change(principal, "role.update", f"role:{name}") as detail:
            if name in BUILTIN_ROLES:
                raise builtin(name)
            values: dict[str, object] = {"updated_at": self._clock()}
            if change.permissions is not None:
                values["permissions"] = detail["permissions"] = sorted(
                    {p.value for p in change.permissions}
                )
            if change.description is not None:
                values["description"] = change.description
            async with self._database.begin() as conn:
                before = await records.administrators(conn)
                result = await conn.execute(
                    update(roles).where(roles.c.name == name).values(**values)
                )
                if not result.rowcount:
                    raise not_found(name)
                await keep_an_administrator(conn, before)
        return await self._view(name)

    async def delete(self, principal: Principal, name: str) -> None:
        """:raises NotFoundError: no such custom role. :raises ConflictError: a built-in
        role, or users still hold it."""
        async with self._audit.change(principal, "role.delete", f"role:{name}"):
            if name in BUILTIN_ROLES:
                raise builtin(name)
            async with self._database.begin() as conn:
                holders = [u.name for u in await records.all_users(conn) if name in u.roles]
                if holders:
                    raise ConflictError(
                        f"role {name!r} is held by {len(holders)} user(s); take it from them first",
                        reason="role-in-use",
                        params={"users": holders[:20]},
                    )
                result = await conn.execute(delete(roles).where(roles.c.name == name))
                if not result.rowcount:
                    raise not_found(name)

    async def _view(self, name: str) -> RoleView:
        async with self._database.connect() as conn:
            found = await records.custom_roles(conn, [name])
        if name not in found:
            raise not_found(name)
        return custom_view(found[name])
