"""A ``shell`` step type written from docs/writing-plugins.md alone, as a third-party plugin
would be: it imports nothing but the public API (``vecron``) and pydantic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from vecron import Executor, ExecutorConfig, FinalError, Registry, StepContext, hookimpl


class ShellConfig(ExecutorConfig):
    """Runs a command with ``/bin/sh -c`` and returns its exit code, stdout and stderr."""

    command: str = Field(min_length=1, description="The command line, run by /bin/sh -c.")
    max_output_chars: int = Field(
        10_000, ge=0, description="Keep at most this many characters of stdout and of stderr."
    )


class ShellExecutor(Executor[ShellConfig]):
    """A non-zero exit fails the step for good, keeping what the command printed."""

    kind = "shell"
    Config = ShellConfig

    async def run(self, ctx: StepContext, config: ShellConfig) -> Mapping[str, Any]:
        process = await asyncio.create_subprocess_shell(
            config.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # one process group: one signal reaches all it starts
        )
        try:
            stdout, stderr = await process.communicate()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise
        limit = config.max_output_chars
        output = {
            "exit_code": process.returncode,
            # Masked before it is cut: a cut could keep half a secret.
            "stdout": ctx.mask(stdout.decode(errors="replace"))[:limit],
            "stderr": ctx.mask(stderr.decode(errors="replace"))[:limit],
        }
        if process.returncode != 0:
            message = f"exit code {process.returncode}: {ctx.excerpt(output['stderr'])}"
            raise FinalError(message, output=output)
        return output


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(ShellExecutor)
