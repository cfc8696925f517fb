"""Acceptance 1: schemathesis against a real ``vecron up`` (db auth backend), logged in
as its first admin, every operation of ``/api/v1/openapi.json`` with every check: no
server error, no schema violation, no undocumented status.

The run is schemathesis' own CLI in a subprocess, configured by ``schemathesis.toml``
beside this file (each exception there says why a check cannot hold for that operation).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.real_server import Served, start_up, up_env
from tests.api.world import job_document
from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
#: Test cases per operation in the fuzzing phase. The coverage phase (about 25,000 cases,
#: most of them the job document's whole schema: every installed executor's Config) takes
#: about 105 s on a quiet machine whatever this says; 50 fuzzing cases add about 25 s.
MAX_EXAMPLES = 50
RUN_TIMEOUT = 420
FUZZER = "fuzzer-5c2e9d41"
FUZZER_PASSWORD = "fuzzer-password-5c2e9d41"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return up_env(tmp_path)


async def seed(served: Served, token: str) -> None:
    """Objects for the operations to find: a job that ran, one queued, variables."""
    for name in ("report", "waiting"):
        status, _, body = await served.call("POST", "/jobs", token=token, json=job_document(name))
        assert status == 201, body
    status, _, body = await served.call("POST", "/jobs/report/trigger", token=token)
    assert status == 202, body
    for variable in ({"name": "REGION", "value": "eu"}, {"name": "TOKEN", "value": "s3cr3t!"}):
        status, _, body = await served.call("POST", "/variables", token=token, json=variable)
        assert status == 201, body


async def test_schemathesis_finds_nothing(cluster: Cluster, tmp_path: Path) -> None:
    served = await start_up(cluster)
    admin = (await served.login())["access_token"]
    await seed(served, admin)
    # schemathesis changes and deletes users (the first admin among them): it acts as an
    # admin of its own whose name it cannot guess, so its token outlives the run.
    fuzzer = {"name": FUZZER, "password": FUZZER_PASSWORD, "roles": ["admin"]}
    status, _, body = await served.call("POST", "/users", token=admin, json=fuzzer)
    assert status == 201, body
    token = (await served.login(FUZZER, FUZZER_PASSWORD))["access_token"]
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        f"{served.api}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20261207",
        # One worker: hypothesis describes strategies by parsing source, which Python
        # 3.11's ast cannot do from two threads at once (SystemError).
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "schemathesis"),
    ]
    run = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=tmp_path,
        env={**cluster.env, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    shown = run.stdout + run.stderr
    assert run.returncode == 0, f"schemathesis found problems:\n{shown[-20000:]}"
    assert "Tested: " in shown and "passed" in shown
    assert token not in shown, "the bearer token is in schemathesis' output"
    log = cluster.log("up")
    assert "Traceback" not in log, log[-5000:]
    assert token not in log, "the bearer token is in the server's log"
