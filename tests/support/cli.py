"""Run the real ``vecron`` command in a subprocess, against a database in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECRON = str(Path(sys.executable).with_name("vecron"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


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

    def __call__(self, *args: str, timeout: float = 60, check: bool = True) -> Result:
        proc = subprocess.run(
            [VECRON, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
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
