"""What every command shares: settings from all layers, a runtime, output helpers.

Commands act as :data:`~vecron.auth.LOCAL_OPERATOR`: whoever runs the CLI on the machine
already holds the database and the secret key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ValidationError
from vecron.settings import Settings, load_settings

if TYPE_CHECKING:
    from vecron.runtime import Runtime

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)

#: The ``--json`` option of every command that prints a view.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclass(slots=True)
class CliState:
    overrides: dict[str, Any] = field(default_factory=dict)

    def settings(self, **more: Any) -> Settings:
        return load_settings(**{**self.overrides, **more})


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = ctx.find_root().obj = CliState()
    return obj


def command_settings(ctx: typer.Context, **overrides: Any) -> Settings:
    """The settings a command runs with: every layer, then the root flags, then
    ``overrides`` (its own flags; ``None`` means not given)."""
    return state(ctx).settings(**overrides)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


#: Who the CLI acts as in every service call.
OPERATOR = LOCAL_OPERATOR


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_view(view: BaseModel | Sequence[BaseModel]) -> None:
    """``--json``: a service's view exactly as the API returns it."""
    if isinstance(view, BaseModel):
        print_json(view.model_dump(mode="json"))
    else:
        print_json([v.model_dump(mode="json") for v in view])


def moment_option(value: str | None, option: str) -> datetime | None:
    """An ISO datetime given on the command line; naive ones are read by the service.

    :raises ValidationError: not an ISO datetime.
    """
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"not an ISO datetime: {value!r}", field=option) from None


def runtime(ctx: typer.Context, **settings: Any) -> Runtime:
    """A runtime not opened: its plugins, registry and backend-free services, for
    commands that need no database."""
    from vecron.runtime import Runtime

    return Runtime(state(ctx).settings(**settings))


async def with_runtime(
    ctx: typer.Context, body: Callable[[Runtime], Awaitable[T]], **settings: Any
) -> T:
    async with runtime(ctx, **settings) as rt:
        return await body(rt)
