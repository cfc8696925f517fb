"""The executor contract fails executors it must catch: processes left running after
cancellation, and Config fields without a description."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, Field

from vecron import Executor, ExecutorConfig, StepContext
from vecron.testing import ExecutorContract
from vecron.testing.processes import descendants, process_table

from ..shell.shell import ShellConfig, ShellExecutor


class LeavesItsChild(ShellExecutor):
    """Lets CancelledError through and forgets the process it started."""

    started: ClassVar[list[asyncio.subprocess.Process]] = []

    async def run(self, ctx: StepContext, config: ShellConfig) -> Mapping[str, Any]:
        process = await asyncio.create_subprocess_shell(config.command)
        self.started.append(process)
        await process.wait()
        return {}


class KillsOnlyTheShell(LeavesItsChild):
    """Kills ``sh`` on cancel, but not the ``sleep`` it started."""

    async def run(self, ctx: StepContext, config: ShellConfig) -> Mapping[str, Any]:
        process = await asyncio.create_subprocess_shell(config.command)
        self.started.append(process)
        try:
            await process.wait()
        except asyncio.CancelledError:
            process.kill()
            raise
        return {}


class Contract(ExecutorContract):
    """Not collected (no ``Test`` prefix): the tests below run its checks by hand."""

    executor_class = ShellExecutor
    cancel_grace = 1.0

    def valid_config(self) -> dict[str, Any]:
        return {"command": "true"}


async def cancel_test(executor: Executor[Any], command: str) -> None:
    await Contract().test_run_honours_cancellation(executor, {"command": command})


@pytest.mark.parametrize(
    ("executor_class", "command"),
    [
        pytest.param(LeavesItsChild, "exec sleep 60", id="child-left-running"),
        # Orphans are adopted (PR_SET_CHILD_SUBREAPER) on Linux, where CI runs.
        pytest.param(KillsOnlyTheShell, "sleep 60; echo never", id="grandchild-orphaned"),
    ],
)
async def test_a_process_outliving_a_cancelled_run_fails_the_contract(
    executor_class: type[LeavesItsChild], command: str
) -> None:
    executor_class.started.clear()
    before = descendants()
    with pytest.raises(AssertionError, match="processes the run started still run") as caught:
        await cancel_test(executor_class(), command)
    assert "sleep 60" in str(caught.value)
    # The contract killed what it found: nothing of the run is left.
    assert descendants() - before == frozenset()
    for process in executor_class.started:
        await process.wait()  # reaped here, before the event loop closes


async def test_a_run_that_kills_its_process_group_passes() -> None:
    before = descendants()
    await cancel_test(ShellExecutor(), "sleep 60; echo never")
    assert descendants() - before == frozenset()


async def test_the_process_table_sees_a_child_and_its_state() -> None:
    process = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        table = process_table()
        assert table[process.pid][0] == os.getpid()
        assert process.pid in descendants()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    assert process.pid not in descendants()


class Nested(BaseModel):
    """A nested model; its fields need descriptions too."""

    described: int = Field(1, description="Has one.")
    bare: int = 2


class UndescribedConfig(ExecutorConfig):
    """Described itself, but not all its fields."""

    command: str = Field(description="Has one.")
    retries: int = 0
    nested: Nested = Field(default_factory=Nested, description="Has one.")


class NoDocstringConfig(ExecutorConfig):
    command: str = Field(description="Has one.")


class Undescribed(ShellExecutor):
    Config = UndescribedConfig  # type: ignore[assignment]


class NoDocstring(ShellExecutor):
    Config = NoDocstringConfig  # type: ignore[assignment]


def test_fields_without_a_description_fail_the_contract() -> None:
    contract = Contract()
    contract.executor_class = Undescribed
    with pytest.raises(AssertionError, match="give these fields a description") as caught:
        contract.test_config_and_its_fields_are_described()
    assert "['retries', 'Nested.bare']" in str(caught.value)


def test_a_config_without_a_docstring_fails_the_contract() -> None:
    contract = Contract()
    contract.executor_class = NoDocstring
    with pytest.raises(AssertionError, match="give NoDocstringConfig a docstring"):
        contract.test_config_and_its_fields_are_described()


def test_a_described_config_passes() -> None:
    Contract().test_config_and_its_fields_are_described()
