"""Database auth backend (kind ``db``): users, roles, passwords and tokens in vecron's
own database (SPEC S8.1).

Importing the package loads nothing heavy: the hooks import the backend, the commands
and the routes when they are called, and the names below on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vecron import Registry, hookimpl

if TYPE_CHECKING:
    import typer

    from vecron_api import RouteRegistry

    from .backend import DbAuthBackend as DbAuthBackend
    from .config import DbAuthConfig as DbAuthConfig
    from .roles import RoleService as RoleService
    from .users import UserService as UserService
    from .views import RoleView as RoleView
    from .views import TokenPair as TokenPair
    from .views import UserView as UserView

_HOMES = {
    "DbAuthBackend": ".backend",
    "DbAuthConfig": ".config",
    "RoleService": ".roles",
    "UserService": ".users",
    "RoleView": ".views",
    "TokenPair": ".views",
    "UserView": ".views",
}

__all__ = sorted(
    [
        *_HOMES,
        "vecron_register_auth_backends",
        "vecron_register_commands",
        "vecron_register_migrations",
        "vecron_register_routes",
    ]
)


@hookimpl
def vecron_register_auth_backends(register: Registry) -> None:
    from .backend import DbAuthBackend

    register.add_auth_backend(DbAuthBackend)


@hookimpl
def vecron_register_migrations(register: Registry) -> None:
    register.add_migrations("auth_db", __name__, "migrations")


@hookimpl
def vecron_register_commands(cli: typer.Typer) -> None:
    from .commands import roles_cli, users_cli

    cli.add_typer(users_cli, name="users")
    cli.add_typer(roles_cli, name="roles")


# Optional: the hook is the API's (vecron-api adds its spec); without the API installed or
# with it blocked, there is nothing to add routes to, and that is no error.
@hookimpl(optionalhook=True)
def vecron_register_routes(register: RouteRegistry) -> None:
    from .routes import register_routes

    register_routes(register)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)
