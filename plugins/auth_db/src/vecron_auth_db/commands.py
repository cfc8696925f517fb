"""``vecron users …`` and ``vecron roles …``: the database backend's users and roles from
the command line, acting as :data:`vecron.LOCAL_OPERATOR` (whoever holds the database)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr

import vecron
from vecron import LOCAL_OPERATOR, JsonFlag, Permission

from .backend import Services
from .config import validated
from .passwords import generate_password
from .views import RoleCreate, UserCreate, UserUpdate

T = TypeVar("T")

users_cli = typer.Typer(no_args_is_help=True, help="Users of the database auth backend.")
roles_cli = typer.Typer(no_args_is_help=True, help="Custom roles of the database auth backend.")

NameArgument = Annotated[str, typer.Argument(help="The user's name.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (else one is generated and printed).",
    ),
]


def act(ctx: typer.Context, body: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``body`` with the user and role services of the configured database."""

    async def with_services(rt: vecron.Runtime) -> T:
        return await body(Services.over(rt))

    return asyncio.run(vecron.with_runtime(ctx, with_services))


def read_password() -> str:
    """The first line of standard input, without its line ending."""
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def password_of(from_stdin: bool) -> tuple[str, bool]:
    """(the password, whether it was generated)."""
    if from_stdin:
        return read_password(), False
    return generate_password(), True


def show_password(name: str, password: str) -> None:
    typer.echo(f"password of {name}: {password}")
    typer.echo("(shown this once; it is stored only as a hash)", err=True)


@users_cli.command("add")
def add_user(
    ctx: typer.Context,
    name: NameArgument,
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            "-r",
            help="A role to give (repeat for more): admin, operator, viewer or a custom one.",
        ),
    ],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user."""
    password, generated = password_of(password_stdin)
    new = validated(UserCreate, {"name": name, "password": SecretStr(password), "roles": role})
    view = act(ctx, lambda s: s.users.create(LOCAL_OPERATOR, new))
    typer.echo(f"added user {view.name} ({', '.join(view.roles) or 'no roles'})")
    if generated:
        show_password(view.name, password)


@users_cli.command("list")
def list_users(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the users."""
    views = act(ctx, lambda s: s.users.list(LOCAL_OPERATOR))
    if as_json:
        vecron.print_view(views)
        return
    for view in views:
        state = "disabled" if view.disabled else "enabled"
        typer.echo(f"{view.name}\t{','.join(view.roles) or '-'}\t{state}")


@users_cli.command("set-password")
def set_password(
    ctx: typer.Context, name: NameArgument, password_stdin: PasswordStdin = False
) -> None:
    """Give a user a new password; its sessions end."""
    password, generated = password_of(password_stdin)
    change = UserUpdate(password=SecretStr(password))
    act(ctx, lambda s: s.users.update(LOCAL_OPERATOR, name, change))
    typer.echo(f"password of {name} changed")
    if generated:
        show_password(name, password)


def _switch(ctx: typer.Context, name: str, *, disabled: bool) -> None:
    act(ctx, lambda s: s.users.update(LOCAL_OPERATOR, name, UserUpdate(disabled=disabled)))
    typer.echo(f"{'disabled' if disabled else 'enabled'} user {name}")


@users_cli.command("disable")
def disable_user(ctx: typer.Context, name: NameArgument) -> None:
    """Disable a user: it can no longer log in, and its tokens stop working."""
    _switch(ctx, name, disabled=True)


@users_cli.command("enable")
def enable_user(ctx: typer.Context, name: NameArgument) -> None:
    """Enable a disabled user."""
    _switch(ctx, name, disabled=False)


@users_cli.command("delete")
def delete_user(ctx: typer.Context, name: NameArgument) -> None:
    """Delete a user."""
    act(ctx, lambda s: s.users.delete(LOCAL_OPERATOR, name))
    typer.echo(f"deleted user {name}")


@roles_cli.command("add")
def add_role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The role's name (lower case).")],
    permission: Annotated[
        list[Permission],
        typer.Option("--permission", "-p", help="A permission it grants (repeat for more)."),
    ],
    description: Annotated[str, typer.Option(help="What the role is for.")] = "",
) -> None:
    """Add a custom role."""
    new = validated(
        RoleCreate, {"name": name, "permissions": permission, "description": description}
    )
    view = act(ctx, lambda s: s.roles.create(LOCAL_OPERATOR, new))
    typer.echo(f"added role {view.name} ({', '.join(p.value for p in view.permissions)})")


@roles_cli.command("list")
def list_roles(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the roles, built-in and custom."""
    views = act(ctx, lambda s: s.roles.list(LOCAL_OPERATOR))
    if as_json:
        vecron.print_view(views)
        return
    for view in views:
        kind = "built-in" if view.builtin else "custom"
        typer.echo(f"{view.name}\t{kind}\t{','.join(p.value for p in view.permissions)}")


@roles_cli.command("delete")
def delete_role(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The role's name.")]
) -> None:
    """Delete a custom role no user holds."""
    act(ctx, lambda s: s.roles.delete(LOCAL_OPERATOR, name))
    typer.echo(f"deleted role {name}")
