"""What every command shares: settings from all layers, a runtime, output helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import typer
from rich.console import Console

from vecron.settings import Settings, load_settings

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)


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


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


async def with_runtime(
    ctx: typer.Context, body: Callable[[Any], Awaitable[T]], **settings: Any
) -> T:
    from vecron.runtime import Runtime

    async with Runtime(state(ctx).settings(**settings)) as rt:
        return await body(rt)
