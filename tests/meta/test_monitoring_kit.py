"""Issue 13, acceptance 2: the monitoring kit in deploy/monitoring/ — Prometheus's own
``promtool`` checks the alert rules and runs their unit tests (JobFailureRate and
SchedulerWithoutLeader fire on synthetic series), and every metric the rules and the
Grafana dashboard ask for is one vecron exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vecron.metrics import Metrics
from vecron.store import open_store

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "deploy" / "monitoring"
RULES = KIT / "alerts.yml"
RULE_TESTS = KIT / "alerts.test.yml"
DASHBOARD = KIT / "grafana-dashboard.json"

#: The alerts the issue asks for (the seed's six, and three of vecron's own).
REQUIRED_ALERTS = {
    "JobFailureRate",
    "QueueDepthHigh",
    "WorkerDown",
    "DatabaseDown",
    "SlowJobs",
    "LockContentionHigh",
    "SchedulerWithoutLeader",
    "LatenessHigh",
    "JobLosingRuns",
}
#: Series Prometheus makes itself for every scrape target.
PROMETHEUS_OWN = {"up"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    # Not a skip: the CI installs it (.ci/services.d/promtool.sh), and so can anyone.
    assert found, "promtool is missing: run `bash .ci/services.sh` (Debian's prometheus)"
    return subprocess.run(
        [found, *args], cwd=KIT, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    for args in (("check", "rules", RULES.name), ("check", "config", "prometheus.yml")):
        done = promtool(*args)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_rules_unit_tests_pass() -> None:
    done = promtool("test", "rules", RULE_TESTS.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_fails_a_rule_test_that_expects_the_wrong_alert(tmp_path: Path) -> None:
    """The unit tests can fail: the same test expecting another job's alert does."""
    shutil.copy(RULES, tmp_path / RULES.name)
    text = RULE_TESTS.read_text(encoding="utf-8").replace(
        "job_name: billing", "job_name: payroll", 1
    )
    (tmp_path / RULE_TESTS.name).write_text(text, encoding="utf-8")
    found = shutil.which("promtool")
    assert found, "promtool is missing"
    done = subprocess.run(
        [found, "test", "rules", RULE_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "JobFailureRate" in done.stdout + done.stderr


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_kit_has_every_alert_the_issue_names() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS


def test_the_rule_tests_make_job_failure_rate_and_scheduler_without_leader_fire() -> None:
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    fired = {
        case["alertname"]
        for test in document["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {"JobFailureRate", "SchedulerWithoutLeader"} <= fired


# -- metric names in PromQL ---------------------------------------------------------------

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_LABEL_VALUES = re.compile(r"label_values\(\s*([^,)]+)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges, grouping clauses, function names and keywords are taken out.
    (No PromQL parser for Python is kept up; PromQL's selectors are simple enough.)"""
    bare = _STRINGS.sub('""', expr)
    bare = _MATCHERS.sub(" ", bare)
    bare = _RANGES.sub(" ", bare)
    bare = _GROUPING.sub(" ", bare)
    return {
        word.group()
        for word in _WORD.finditer(bare)
        if word.group().lower() not in _KEYWORDS
        and not bare[word.end() :].lstrip().startswith("(")  # a function's name
    }


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (job_name) (rate(job_failed_total{job_name=~"a|b"}[15m])) > 0.25',
            {"job_failed_total"},
        ),
        ("(sum(scheduler_leader) or vector(0)) < 1", {"scheduler_leader"}),
        ('up{job="vecron-worker"} == 0', {"up"}),
        (
            "histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval]))) > 1e3",
            {"x_bucket"},
        ),
        ("a / on (instance) group_left (job) b offset 5m", {"a", "b"}),
        ('{__name__="ignored"}', set()),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def dashboard_queries(node: Any) -> Iterator[str]:
    """Every PromQL expression of the dashboard: its panels' targets and its variables'
    queries (``label_values(metric, label)`` asks for ``metric``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "definition" and isinstance(value, str):
                yield from _LABEL_VALUES.findall(value)
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def exported(tmp_path: Path) -> set[str]:
    metrics = Metrics()
    # The store's gauges register without asking the store anything.
    metrics.read_backlog_from(open_store(f"sqlite+aiosqlite:///{tmp_path}/unused.db"))
    return metrics.names()


def test_the_rules_use_only_metrics_vecron_exports(tmp_path: Path) -> None:
    known = exported(tmp_path) | PROMETHEUS_OWN
    for rule in rules():
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= known, (rule["alert"], used - known)


def test_the_dashboard_uses_only_metrics_vecron_exports(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = list(dashboard_queries(dashboard))
    assert len(queries) > 20
    known = exported(tmp_path) | PROMETHEUS_OWN
    used = set().union(*(metric_names(q) for q in queries))
    assert used <= known, used - known
    # Both views the issue asks for, and every panel where Grafana can place it.
    titles = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert titles == ["Job overview", "System health"]
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_exported_metric_is_used_by_the_kit(tmp_path: Path) -> None:
    """Nothing vecron exports is left off the dashboard: an operator sees all of it."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = set().union(*(metric_names(q) for q in dashboard_queries(dashboard)))
    families = {_family(name) for name in exported(tmp_path)}
    assert families <= {_family(name) for name in used}, families - {_family(n) for n in used}


def _family(name: str) -> str:
    return re.sub(r"_(total|created|bucket|sum|count)$", "", name)


@pytest.mark.parametrize("page", ["observability.md", "vi/observability.md"])
def test_every_metric_is_in_the_table_of_the_docs(tmp_path: Path, page: str) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    table = {
        line.split("|")[1].strip().strip("`")
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 5
    }
    families = {
        name for name in exported(tmp_path) if not name.endswith(("_created", "_sum", "_count"))
    }
    documented = {name.removesuffix("_bucket") for name in families}
    assert table == documented
