"""`vecron up` on the embedded defaults: the example job runs, and jobs applied,
changed, disabled or deleted from another process take effect without a restart."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], timeout: float = 20, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[Cli, int]]:
    cli = Cli(tmp_path)
    port = free_port()
    proc = cli.popen("up", "--port", str(port))
    try:
        yield cli, port
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-2000:]


def executions(cli: Cli, job: str) -> list[dict[str, Any]]:
    result = cli("exec", "list", "--job", job, "--json", check=False)
    return result.json() if result.code == 0 else []


@pytest.mark.slow
def test_example_job_runs_and_changes_apply_live(up: tuple[Cli, int], tmp_path: Path) -> None:
    cli, port = up
    # The example job GETs /healthz every 5 s and succeeds.
    done = eventually(
        lambda: [e for e in executions(cli, "example-healthz") if e["status"] == "succeeded"]
    )
    first = done[0]
    assert first["trigger"] == "cron" and first["scheduled_at"]
    detail = cli("exec", "show", first["id"], "--json").json()
    assert detail["steps"][0]["output"]["status"] == 200
    assert detail["steps"][0]["output"]["body"] == {"status": "ok"}

    # A job applied from another process starts firing without a restart.
    path = tmp_path / "tick.yaml"
    path.write_text(
        "name: tick\n"
        "triggers: [{type: cron, expression: '* * * * * ?'}]\n"
        f"steps: [{{id: ping, type: http, url: 'http://127.0.0.1:{port}/healthz'}}]\n"
    )
    cli("job", "apply", "-f", str(path))
    eventually(lambda: len([e for e in executions(cli, "tick") if e["status"] == "succeeded"]) >= 2)

    ledger = cli("job", "ledger", "tick", "--json").json()
    assert ledger and {o["status"] for o in ledger} == {"fired"}
    assert all(o["execution_id"] for o in ledger)

    # Changed: a new version is what runs next.
    path.write_text(path.read_text().replace("/healthz", "/readyz"))
    assert cli("job", "apply", "-f", str(path), "--json").json()[0]["version"] == 2
    eventually(
        lambda: any(
            e["job_version"] == 2 and e["status"] == "succeeded" for e in executions(cli, "tick")
        )
    )

    # Disabled: no new fires after the change is seen.
    cli("job", "disable", "tick")
    time.sleep(1.5)
    settled = {e["id"] for e in executions(cli, "tick")}
    time.sleep(2.5)
    assert {e["id"] for e in executions(cli, "tick")} == settled

    # Deleted: gone from the list, its history kept.
    cli("job", "delete", "tick", "--yes")
    assert "tick" not in [j["name"] for j in cli("job", "list", "--json").json()]
    assert cli("exec", "list", "--json").json()


@pytest.mark.slow
def test_probes_answer(up: tuple[Cli, int]) -> None:
    import urllib.request

    _, port = up

    def get(path: str) -> Any:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status
        except OSError:
            return None

    assert eventually(lambda: get("/healthz")) == 200
    assert eventually(lambda: get("/readyz")) == 200
    assert eventually(lambda: get("/metrics")) == 200
