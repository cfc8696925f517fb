"""Job documents over a limit are refused with one line naming the limit, before the
document costs what it would expand to (issue #9, finding 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.cli import Cli
from vecron.errors import ValidationError
from vecron.jobs.documents import parse_text
from vecron.jobs.limits import DocumentLimits
from vecron.runtime import Runtime
from vecron.settings import Settings

HEADER = """\
name: bomb
triggers: [{type: manual}]
"""


def laughs(levels: int, width: int) -> str:
    """A billion-laughs document: each level a list of ``width`` aliases of the last."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        items = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(f"a{level}: &a{level} [{items}]")
    anchors = "\n".join(f"  {line}" for line in lines)
    return (
        f"{HEADER}x-anchors:\n{anchors}\n"
        f"steps:\n  - {{id: post, type: http, url: 'http://127.0.0.1/', json: *a{levels}}}\n"
    )


def refused(runtime: Runtime, path: Path, text: str) -> ValidationError:
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        runtime.jobs.load_path(path)
    return caught.value


@pytest.mark.timeout(60)  # before, these took minutes and gigabytes
@pytest.mark.parametrize(
    ("levels", "width", "setting"),
    [
        (9, 12, "job_max_yaml_aliases"),  # 12**9 strings from 108 aliases
        (6, 9, "job_max_values"),  # few aliases, still 9**6 = 531,441 values
    ],
)
def test_yaml_bombs_are_refused_before_they_expand(
    runtime: Runtime, tmp_path: Path, levels: int, width: int, setting: str
) -> None:
    error = refused(runtime, tmp_path / "bomb.yaml", laughs(levels, width))
    assert f"(setting {setting})" in error.one_line()
    assert "bomb.yaml" in error.one_line()


def test_a_few_aliases_for_plain_reuse_are_still_fine(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        HEADER
        + "steps:\n"
        + "  - {id: a, type: http, url: 'http://127.0.0.1/', json: &body {n: [1, 2]}}\n"
        + "  - {id: b, type: http, url: 'http://127.0.0.1/', json: *body}\n"
    )
    [(_, definition)] = runtime.jobs.load_path(path)
    assert definition.steps[1].config["json"] == {"n": [1, 2]}


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"description": "x" * 10_000_001}, "description", "at most 10000 characters"),
        ({"tags": ["t"] * 1_000_000}, None, "job_max_values"),
        ({"tags": [f"t{i}" for i in range(101)]}, "tags", "at most 100 items"),
        (
            {"steps": [{"id": f"s{i}", "type": "record"} for i in range(10_000)]},
            "steps",
            "job has 10,000 steps; the limit is 200 (setting job_max_steps)",
        ),
    ],
)
def test_size_bombs_are_refused_naming_the_limit(
    runtime: Runtime, document: dict[str, Any], field: str | None, message: str
) -> None:
    doc = {
        "name": "big",
        "triggers": [{"type": "manual"}],
        "steps": [{"id": "a", "type": "record"}],
        **document,
    }
    with pytest.raises(ValidationError) as caught:
        runtime.jobs.parse(doc)
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize("syntax", ["json", "yaml"])
def test_deep_nesting_is_refused_without_a_recursion_error(syntax: str) -> None:
    depth = 100_000
    text = "[" * depth + "]" * depth if syntax == "json" else "a: " + "[" * depth + "]" * depth
    with pytest.raises(ValidationError, match=r"nested more than 32 levels deep.*job_max_depth"):
        parse_text(text, source="deep")


def test_a_text_over_the_byte_limit_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    text = HEADER + "steps: [{id: a, type: record}]\ndescription: " + "x" * (2 * 1024 * 1024)
    error = refused(runtime, tmp_path / "huge.yaml", text)
    assert "is 2,097,2" in error.message and "(setting job_max_bytes)" in error.message


async def test_every_limit_is_a_setting(tmp_path: Path, test_pm: pluggy.PluginManager) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        storage_url=f"file://{tmp_path}/s",
        job_max_steps=2,
        job_max_depth=4,
        job_max_yaml_aliases=0,
    )
    async with Runtime(settings, pm=test_pm) as rt:
        three = {"name": "n", "steps": [{"id": f"s{i}", "type": "record"} for i in range(3)]}
        with pytest.raises(ValidationError, match=r"limit is 2 \(setting job_max_steps\)"):
            rt.jobs.parse(three)
        deep = {"name": "n", "steps": [{"id": "a", "type": "record", "label": "x"}], "x": [[[[]]]]}
        with pytest.raises(ValidationError, match="job_max_depth"):
            rt.jobs.parse(deep)
        error = refused(rt, tmp_path / "a.yaml", laughs(1, 1))
        assert "the limit is 0 (setting job_max_yaml_aliases)" in error.message


def test_the_cli_prints_one_line_naming_the_limit(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.env["VECRON_JOB_MAX_STEPS"] = "3"
    doc = {
        "name": "long",
        "triggers": [{"type": "manual"}],
        "steps": [{"id": f"s{i}", "type": "http", "url": "http://127.0.0.1/"} for i in range(4)],
    }
    (tmp_path / "long.json").write_text(json.dumps(doc))
    result = cli("job", "apply", "-f", str(tmp_path / "long.json"), check=False)
    assert result.code != 0
    assert result.err.strip().count("\n") == 0
    assert "job has 4 steps; the limit is 3 (setting job_max_steps)" in result.err
    assert "long" not in cli("job", "list", "--json").out


@given(st.recursive(st.integers() | st.text(max_size=3), lambda c: st.lists(c, max_size=3)))
def test_a_document_within_the_limits_reads_back_unchanged(value: Any) -> None:
    limits = DocumentLimits(max_depth=500, max_values=10**6)
    text = json.dumps({"x": value})
    assert parse_text(text, limits=limits) == {"x": value}
