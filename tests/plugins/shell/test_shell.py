"""The docs' ``shell`` executor passes the executor contract and behaves as documented."""

from __future__ import annotations

from typing import Any

import pytest

from vecron import FinalError, Registry
from vecron.testing import ExecutorContract, make_step_context

from .shell import ShellConfig, ShellExecutor


class TestShellContract(ExecutorContract):
    executor_class = ShellExecutor

    def valid_config(self) -> dict[str, Any]:
        return {"command": "echo hello"}

    def slow_config(self) -> dict[str, Any]:
        # Two commands: sh stays as the parent of sleep, so only a group kill stops both.
        return {"command": "sleep 60; echo never"}


async def test_a_command_returns_its_output() -> None:
    config = ShellConfig(command="echo out; echo err >&2")
    result = await ShellExecutor().run(make_step_context(), config)
    assert result == {"exit_code": 0, "stdout": "out\n", "stderr": "err\n"}


async def test_a_failing_command_is_final_and_keeps_its_output() -> None:
    config = ShellConfig(command="echo partial; echo 'token s3cr3t-value refused' >&2; exit 3")
    ctx = make_step_context(secrets=frozenset({"s3cr3t-value"}))
    with pytest.raises(FinalError) as caught:
        await ShellExecutor().run(ctx, config)
    assert not caught.value.retryable
    assert caught.value.output is not None
    assert caught.value.output["exit_code"] == 3
    assert caught.value.output["stdout"] == "partial\n"
    assert "s3cr3t-value" not in caught.value.message + caught.value.output["stderr"]
    assert caught.value.message.startswith("exit code 3: token ")


def test_the_registry_takes_it() -> None:
    registry = Registry(plugin="shell")
    registry.add_executor(ShellExecutor)
    assert registry.executor("shell") is ShellExecutor
    assert registry.owners[("executor", "shell")] == "shell"
