"""What docs/writing-plugins.md says of a step's timeout: the worker cancels ``run``, the
step is ``timed_out``, and the execution is tried again like after a retryable error."""

from __future__ import annotations

import pluggy
import pytest

from tests.support.engine import apply, run_and_wait, running
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime
from vecron.testing.processes import adopting_orphans, descendants

from ..shell import shell


@pytest.fixture
def test_pm(test_pm: pluggy.PluginManager) -> pluggy.PluginManager:
    test_pm.register(shell, name="vecron-test-shell")
    return test_pm


async def test_a_timed_out_step_is_retried_and_its_process_stopped(runtime: Runtime) -> None:
    await apply(
        runtime,
        {
            "name": "slow-shell",
            "triggers": [{"type": "manual"}],
            "steps": [
                {"id": "wait", "type": "shell", "command": "sleep 30; echo late", "timeout": 0.5}
            ],
            "retry": {"max_attempts": 2, "delay": 0.05, "jitter": 0},
        },
    )
    with adopting_orphans():
        before = descendants()
        async with running(runtime):
            execution = await run_and_wait(runtime, "slow-shell")
        left = descendants() - before
    assert execution.status is ExecutionStatus.TIMED_OUT
    assert execution.attempt == 2  # the timeout was retried once, then the last attempt ended
    assert [step.status for step in execution.steps] == [StepStatus.TIMED_OUT]
    assert "step timed out after 0.5 s" in (execution.error or "")
    assert left == frozenset()  # each cancelled attempt stopped its sh and its sleep
