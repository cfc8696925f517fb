"""Run the real ``vecron`` command in a subprocess, against a database in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from vecron.telemetry import configure_logging

VECRON = str(Path(sys.executable).with_name("vecron"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_vecron(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 60,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``vecron ARGS`` to its end, its output captured as text; ``stdin`` is fed to it
    (otherwise it reads /dev/null, so a prompt can never hang a test)."""
    return subprocess.run(
        [VECRON, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "VECRON_DATABASE_URL": f"sqlite+aiosqlite:///{home}/vecron.db",
            "VECRON_STORAGE_URL": f"file://{home}/storage",
            "VECRON_CONFIG": str(home / "vecron.toml"),
            "VECRON_LOG_FORMAT": "json",
            "COLUMNS": "200",
        }
        self.env.pop("VECRON_DEBUG", None)

    def __call__(
        self, *args: str, timeout: float = 60, check: bool = True, stdin: str | None = None
    ) -> Result:
        """Run ``vecron ARGS``; ``stdin`` is its standard input (none when not given).

        :raises AssertionError: with ``check``, it exited with an error; its stderr says why.
        """
        proc = run_vecron(args, env=self.env, cwd=self.home, timeout=timeout, stdin=stdin)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"vecron {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [VECRON, *args],
            env=self.env,
            cwd=self.home,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )


@contextmanager
def logging_restored() -> Iterator[None]:
    """Around an in-process CLI call (``CliRunner``): the CLI points vecron's logging at
    the runner's stream, closed once it returns; later tests must not log into it."""
    try:
        yield
    finally:
        # The process's own stderr for library logs (pytest's capture closes too), and
        # structlog's defaults, which look the stream up at each call.
        configure_logging(stream=sys.__stderr__)
        structlog.reset_defaults()
