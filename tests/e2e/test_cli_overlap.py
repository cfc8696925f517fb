"""`vecron job run` of a job that does not allow overlap, from several processes at the
same instant: one run is created, every other process exits 75 with one line.

(SQLite only: each process takes seconds to start; the same race on PostgreSQL is in
tests/core/test_run_now_overlap.py and the store contract suite.)
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Cli

JOB = """
name: single
policy: {overlap: skip}
steps: [{id: ping, type: http, url: "http://127.0.0.1:9/x"}]
"""
PROCESSES = 3


def test_concurrent_job_runs_of_a_no_overlap_job_create_one(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    (tmp_path / "single.yaml").write_text(JOB)
    cli("job", "apply", "-f", str(tmp_path / "single.yaml"))
    processes = [cli.popen("job", "run", "single", "--json") for _ in range(PROCESSES)]
    finished = [(p.wait(timeout=60), *p.communicate()) for p in processes]
    assert sorted(code for code, _, _ in finished) == [0] + [75] * (PROCESSES - 1), finished
    [started] = [json.loads(out)["id"] for code, out, _ in finished if code == 0]
    for code, _, err in finished:
        if code == 75:
            assert err.count("\n") == 1 and "already running" in err, err
    executions = cli("exec", "list", "--job", "single", "--json").json()
    assert [e["id"] for e in executions] == [started]
