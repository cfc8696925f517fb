"""The user service: list, show, create, change and delete users (``user:admin``).

Every method takes the acting :class:`vecron.Principal` first, checks it through
:func:`vecron.authorize` and records an audit entry for every change and every refused
attempt. A change that would leave no enabled user able to administer users (deleting,
disabling or demoting the last one) is refused, so the API can never lock itself out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron import (
    BUILTIN_ROLES,
    ConflictError,
    Database,
    NotFoundError,
    Principal,
    ValidationError,
)

from . import records
from .audit import Auditor
from .passwords import Passwords
from .records import RoleRecord, UserRecord
from .views import UserCreate, UserUpdate, UserView


def user_view(user: UserRecord, custom: dict[str, RoleRecord]) -> UserView:
    return UserView(
        name=user.name,
        roles=list(user.roles),
        permissions=sorted(records.permissions(user.roles, custom)),
        disabled=user.disabled,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


async def check_roles(conn: AsyncConnection, names: Iterable[str]) -> list[str]:
    """``names`` without repeats, each a built-in or custom role.

    :raises ValidationError: a name is neither.
    """
    wanted = list(dict.fromkeys(names))
    custom = await records.custom_roles(conn, [n for n in wanted if n not in BUILTIN_ROLES])
    for position, name in enumerate(wanted):
        if name not in BUILTIN_ROLES and name not in custom:
            raise ValidationError(
                f"no role named {name!r}", field=f"roles[{position}]", reason="unknown-role"
            )
    return wanted


async def keep_an_administrator(conn: AsyncConnection, before: list[str]) -> None:
    """:raises ConflictError: there were administrators and the change left none."""
    if before and not await records.administrators(conn):
        raise ConflictError(
            "the change would leave no enabled user who may administer users",
            reason="last-admin",
        )


def not_found(name: str) -> NotFoundError:
    return NotFoundError(f"no user named {name!r}", reason="user-not-found")


def exists(name: str) -> ConflictError:
    return ConflictError(f"a user named {name!r} exists", reason="user-exists")


class UserService:
    """Users of the database auth backend."""

    def __init__(
        self,
        database: Database,
        auditor: Auditor,
        passwords: Passwords,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._audit = auditor
        self.passwords = passwords
        self._clock = clock

    async def list(self, principal: Principal) -> list[UserView]:
        await self._audit.authorize(principal, "user.list", "user:*")
        async with self._database.connect() as conn:
            custom = await records.custom_roles(conn)
            return [user_view(user, custom) for user in await records.all_users(conn)]

    async def get(self, principal: Principal, name: str) -> UserView:
        await self._audit.authorize(principal, "user.read", f"user:{name}")
        async with self._database.connect() as conn:
            user = await records.user_by_name(conn, name)
            if user is None:
                raise not_found(name)
            return user_view(user, await records.custom_roles(conn, user.roles))

    async def create(self, principal: Principal, new: UserCreate) -> UserView:
        """:raises ConflictError: the name is taken. :raises ValidationError: a weak
        password or an unknown role."""
        async with self._audit.change(principal, "user.create", f"user:{new.name}") as detail:
            password = new.password.get_secret_value()
            self.passwords.check_policy(password)
            hashed = await self.passwords.hash(password)
            try:
                async with self._database.begin() as conn:
                    roles = await check_roles(conn, new.roles)
                    if await records.user_by_name(conn, new.name) is not None:
                        raise exists(new.name)
                    await records.insert_user(
                        conn,
                        name=new.name,
                        password_hash=hashed,
                        roles=roles,
                        disabled=new.disabled,
                        now=self._clock(),
                    )
            except IntegrityError:  # created meanwhile by someone else
                raise exists(new.name) from None
            detail.update(roles=roles, disabled=new.disabled)
        return await self._view(new.name)

    async def update(self, principal: Principal, name: str, change: UserUpdate) -> UserView:
        """Change roles, disable or enable, set a new password. Disabling and a new
        password end the user's sessions at once (access and refresh tokens).

        :raises NotFoundError: no such user. :raises ConflictError: it would leave no
            administrator.
        """
        async with self._audit.change(principal, "user.update", f"user:{name}") as detail:
            detail["changed"] = sorted(change.model_dump(exclude_none=True))
            hashed = None
            if change.password is not None:
                password = change.password.get_secret_value()
                self.passwords.check_policy(password)
                hashed = await self.passwords.hash(password)
            async with self._database.begin() as conn:
                user = await records.user_by_name(conn, name)
                if user is None:
                    raise not_found(name)
                before = await records.administrators(conn)
                now = self._clock()
                values: dict[str, object] = {"updated_at": now}
                if change.roles is not None:
                    values["roles"] = await check_roles(conn, change.roles)
                if change.disabled is not None:
                    values["disabled"] = change.disabled
                if hashed is not None:
                    values["password_hash"] = hashed
                if hashed is not None or (change.disabled and not user.disabled):
                    values["token_generation"] = user.token_generation + 1
                    await records.revoke_tokens(conn, now, user_id=user.id)
                await records.update_user(conn, user.id, **values)
                await keep_an_administrator(conn, before)
        return await self._view(name)

    async def delete(self, principal: Principal, name: str) -> None:
        """Delete a user and its refresh tokens; its access tokens stop at once.

        :raises NotFoundError: no such user. :raises ConflictError: it would leave no
            administrator.
        """
        async with (
            self._audit.change(principal, "user.delete", f"user:{name}"),
            self._database.begin() as conn,
        ):
            user = await records.user_by_name(conn, name)
            if user is None:
                raise not_found(name)
            before = await records.administrators(conn)
            await records.delete_user(conn, user.id)
            await keep_an_administrator(conn, before)

    async def _view(self, name: str) -> UserView:
        async with self._database.connect() as conn:
            user = await records.user_by_name(conn, name)
            if user is None:  # deleted in the instant since
                raise not_found(name)
            return user_view(user, await records.custom_roles(conn, user.roles))
