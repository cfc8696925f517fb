"""Reading and writing the backend's rows, on a connection the caller opened (a read
connection or a write transaction of :class:`vecron.Database`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron import Permission, permissions_of

from .tables import refresh_tokens, roles, users


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    name: str
    password_hash: str
    roles: tuple[str, ...]
    disabled: bool
    token_generation: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RoleRecord:
    name: str
    permissions: frozenset[Permission]
    description: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    user_id: str
    family: str
    expires_at: datetime
    revoked_at: datetime | None
    replaced_by: str | None


def _user(row: RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        roles=tuple(row["roles"]),
        disabled=bool(row["disabled"]),
        token_generation=row["token_generation"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _permissions(values: Iterable[str]) -> frozenset[Permission]:
    # A permission a later vecron dropped grants nothing rather than failing the read.
    known = {p.value for p in Permission}
    return frozenset(Permission(value) for value in values if value in known)


async def user_by_name(conn: AsyncConnection, name: str) -> UserRecord | None:
    row = (await conn.execute(select(users).where(users.c.name == name))).mappings().first()
    return None if row is None else _user(row)


async def user_by_id(conn: AsyncConnection, user_id: str) -> UserRecord | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
    return None if row is None else _user(row)


async def all_users(conn: AsyncConnection) -> list[UserRecord]:
    rows = (await conn.execute(select(users).order_by(users.c.name))).mappings()
    return [_user(row) for row in rows]


async def has_users(conn: AsyncConnection) -> bool:
    return (await conn.execute(select(users.c.id).limit(1))).first() is not None


async def insert_user(
    conn: AsyncConnection,
    *,
    name: str,
    password_hash: str,
    roles: Iterable[str],
    disabled: bool,
    now: datetime,
) -> None:
    await conn.execute(
        insert(users).values(
            id=str(uuid.uuid4()),
            name=name,
            password_hash=password_hash,
            roles=list(roles),
            disabled=disabled,
            token_generation=0,
            created_at=now,
            updated_at=now,
        )
    )


async def update_user(conn: AsyncConnection, user_id: str, **values: Any) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def delete_user(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.user_id == user_id))
    await conn.execute(delete(users).where(users.c.id == user_id))


async def custom_roles(
    conn: AsyncConnection, names: Iterable[str] | None = None
) -> dict[str, RoleRecord]:
    """Custom roles by name: all of them, or those among ``names``."""
    query = select(roles).order_by(roles.c.name)
    if names is not None:
        wanted = list(names)
        if not wanted:
            return {}
        query = query.where(roles.c.name.in_(wanted))
    return {
        row["name"]: RoleRecord(
            name=row["name"],
            permissions=_permissions(row["permissions"]),
            description=row["description"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in (await conn.execute(query)).mappings()
    }


def permissions(
    role_names: Iterable[str], custom: Mapping[str, RoleRecord]
) -> frozenset[Permission]:
    return permissions_of(role_names, {name: role.permissions for name, role in custom.items()})


async def administrators(conn: AsyncConnection) -> list[str]:
    """Names of the enabled users who may administer users."""
    custom = await custom_roles(conn)
    return [
        user.name
        for user in await all_users(conn)
        if not user.disabled and Permission.USER_ADMIN in permissions(user.roles, custom)
    ]


# -- refresh tokens ---------------------------------------------------------------------


async def token_by_digest(conn: AsyncConnection, digest: str) -> TokenRecord | None:
    """The token row, locked against a concurrent refresh (PostgreSQL; SQLite's one
    writer serialises on its own)."""
    query = select(refresh_tokens).where(refresh_tokens.c.token_hash == digest).with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return TokenRecord(
        id=row["id"],
        user_id=row["user_id"],
        family=row["family"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        replaced_by=row["replaced_by"],
    )


async def add_token(
    conn: AsyncConnection,
    *,
    digest: str,
    user_id: str,
    family: str | None,
    now: datetime,
    life: timedelta,
) -> str:
    """Store a refresh token (its digest); a new family unless ``family`` continues one.
    :returns: the row's id."""
    token_id = str(uuid.uuid4())
    await conn.execute(
        insert(refresh_tokens).values(
            id=token_id,
            token_hash=digest,
            user_id=user_id,
            family=family or token_id,
            issued_at=now,
            expires_at=now + life,
            revoked_at=None,
            replaced_by=None,
        )
    )
    return token_id


async def revoke_token(
    conn: AsyncConnection, token_id: str, now: datetime, *, replaced_by: str | None = None
) -> bool:
    """Revoke one live token. :returns: False when it was revoked already."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.id == token_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now, replaced_by=replaced_by)
    )
    return bool(result.rowcount)


async def revoke_tokens(
    conn: AsyncConnection, now: datetime, *, family: str | None = None, user_id: str | None = None
) -> None:
    """Revoke every live token of a family, or of a user."""
    if family is None and user_id is None:
        raise ValueError("revoke_tokens needs a family or a user")
    query = update(refresh_tokens).where(refresh_tokens.c.revoked_at.is_(None))
    if family is not None:
        query = query.where(refresh_tokens.c.family == family)
    if user_id is not None:
        query = query.where(refresh_tokens.c.user_id == user_id)
    await conn.execute(query.values(revoked_at=now))
