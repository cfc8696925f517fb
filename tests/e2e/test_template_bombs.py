"""Issue 9, acceptance 4: with a CPU-bomb and a memory-bomb template firing every second,
a heartbeat job firing every second keeps its lateness p99 under 100 ms and the `vecron
up` process's RSS grows by under 100 MB."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_up import eventually
from tests.support.cli import VECRON, Cli
from tests.support.cluster import unique
from tests.support.private_servers import free_port

CPU_BOMB = "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"
MEMORY_BOMB = (
    "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}"
)
HEARTBEATS = 30


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def job(name: str, url: str, **step: Any) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "cron", "expression": "* * * * * ?"}],
        "steps": [{"id": "call", "type": "http", "url": url, **step}],
        "retry": {"max_attempts": 1},
    }


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[Cli, int, int]]:
    cli = Cli(tmp_path)
    port = free_port()
    log = tmp_path / "up.log"
    # Three runs a second log more than a pipe holds: the log goes to a file, unread.
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [VECRON, "up", "--port", str(port)],
            env=cli.env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield cli, port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-2000:]


def executions(cli: Cli, name: str) -> list[dict[str, Any]]:
    for _ in range(20):
        result = cli("exec", "list", "--job", name, "--limit", "500", "--json", check=False)
        if result.code == 0:
            runs: list[dict[str, Any]] = result.json()
            return runs
        # The embedded SQLite database is busy with three runs a second: ask again.
        assert "database is locked" in result.err, result.err
        time.sleep(0.2)
    raise AssertionError(f"could not list the executions of {name}")


def apply(cli: Cli, tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / f"{document['name']}.json"
    path.write_text(json.dumps(document))
    cli("job", "apply", "-f", str(path))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.slow
def test_bombs_do_not_delay_a_heartbeat_or_swell_the_process(
    up: tuple[Cli, int, int], tmp_path: Path
) -> None:
    cli, port, pid = up
    healthz = f"http://127.0.0.1:{port}/healthz"
    heartbeat, cpu, memory = unique("heartbeat"), unique("cpu-bomb"), unique("memory-bomb")
    apply(cli, tmp_path, job(heartbeat, healthz))
    eventually(
        lambda: len([e for e in executions(cli, heartbeat) if e["status"] == "succeeded"]) >= 3,
        timeout=60,
    )
    baseline = rss_bytes(pid)

    apply(cli, tmp_path, {**job(cpu, healthz + "?" + CPU_BOMB, timeout=2), "timeout": 3})
    apply(cli, tmp_path, {**job(memory, healthz + "?" + MEMORY_BOMB, timeout=2), "timeout": 3})
    bombs_failed = eventually(
        lambda: all(
            any(e["status"] == "failed" for e in executions(cli, name)) for name in (cpu, memory)
        ),
        timeout=60,
    )
    assert bombs_failed
    since = datetime.now(UTC)
    peak = baseline

    def enough_heartbeats() -> list[dict[str, Any]]:
        nonlocal peak
        peak = max(peak, rss_bytes(pid))
        done = [
            e
            for e in executions(cli, heartbeat)
            if e["status"] == "succeeded" and at(e["scheduled_at"]) > since
        ]
        return done if len(done) >= HEARTBEATS else []

    beats = eventually(enough_heartbeats, timeout=HEARTBEATS * 3, every=1.0)
    lateness = sorted((at(e["started_at"]) - at(e["scheduled_at"])).total_seconds() for e in beats)
    p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
    growth = peak - baseline
    print(
        f"heartbeat lateness p99 {p99 * 1000:.1f} ms over {len(lateness)} runs; "
        f"RSS {baseline / 2**20:.0f} MiB -> peak {peak / 2**20:.0f} MiB"
    )

    # The bombs kept firing all along, and each run failed on its template, sending nothing.
    for name in (cpu, memory):
        runs = [e for e in executions(cli, name) if e["status"] not in ("queued", "running")]
        assert len(runs) >= HEARTBEATS // 3, name
        assert {e["status"] for e in runs} == {"failed"}, name
        assert all("field 'url'" in (e["error"] or "") for e in runs), name
    assert p99 < 0.1, lateness
    assert growth < 100 * 1024 * 1024
