"""Templates cannot stall or swell the process: CPU, memory and nesting bombs (issue 9.3)."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from tests.support.engine import apply, run_and_wait, running
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import TemplateError, TemplateSecurityError, ValidationError
from vecron.execution.steps import PreparedStep
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime
from vecron.services.views import ExecutionView
from vecron.templates import TemplateContext, compile_config
from vecron.templates.budget import MAX_NESTING, MAX_TREE_DEPTH

CPU_BOMB = "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"
MEMORY_BOMB = (
    "{% set ns = namespace(s='x') %}{% for i in range(N) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}"
)
MACRO_BOMB = (
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}x{% endmacro %}" + "{{ f(40) }}"
)
#: Fewer than the iteration limit, but each one scans a megabyte: seconds of work.
SLOW = (
    "{% set s = 'x' * 1000000 %}{% for i in range(300) %}{% for j in range(300) %}"
    "{% if 'y' in s %}y{% endif %}{% endfor %}{% endfor %}done"
)
BIG = "{% set b = 'x' * 1000000 %}"
#: Each builds gigabytes (or spins for hours) if nothing stops it.
BOMBS = {
    "nested loops": CPU_BOMB,
    "doubling ~": MEMORY_BOMB.replace("N", "40"),
    "doubling +": MEMORY_BOMB.replace("N", "40").replace("~", "+"),
    "doubling list": "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}"
    "{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}",
    "join filter": BIG + "{{ range(2000) | map('string') | join(b) }}",
    "str.join": BIG + "{{ b.join(range(2000) | map('string')) }}",
    "str.replace": BIG + "{{ b.replace('x', 'yy') }}",
    "tojson of shared": BIG + "{{ ([b] * 100) | tojson }}",
    "list in text": BIG + "x{{ [b] * 100 }}",
    "string filter": BIG + "{{ ([b] * 100) | string }}",
    "~ of a list": BIG + "{{ 'a' ~ ([b] * 100) }}",
    "urlencode": BIG + "{{ {'a': b, 'c': b} | urlencode }}",
    "nested literals": "{% set a = range(1000) | list %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
    "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{% set d = [c,c,c,c,c,c,c,c,c,c] %}{{ d == d }}",
    "nested repeat": "{{ [[[1] * 1000] * 1000] * 1000 }}",
    "dict()": "{% set a = range(1000) | list %}{% set b = dict(a=a,b=a,c=a,d=a,e=a,f=a,g=a,h=a) %}"
    "{% set c = dict(a=b,b=b,c=b,d=b,e=b,f=b,g=b,h=b) %}{{ dict(a=c,b=c,c=c,d=c,e=c,f=c) }}",
    "block set": BIG
    + "{% set x %}{% for i in range(1000) %}{{ b }}{% endfor %}{% endset %}{{ x }}",
    "squaring": "{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}{{ ns.n }}",
    "kept slices": BIG + "{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
    "{% set ns.l = ns.l + [b[i:]] %}{% endfor %}{{ ns.l | length }}",
    "kept copies": BIG + "{% set ns = namespace(l=[]) %}{% for i in range(10000) %}"
    "{% set ns.l = ns.l + [b | upper] %}{% endfor %}{{ ns.l | length }}",
    "sort keys": BIG + "{{ b | list | sort | length }}",
    "bytes.center": "{{ 'x'.encode().center(1000000000) }}",
    "int.to_bytes": "{{ (1).to_bytes(1000000000, 'big') }}",
    "str.translate": "{{ 'xxxx'.translate({120: 'y' * 1000000}) }}",
    "handed to the executor": "{{ ['x' * 1000000] * 1000 }}",
    "sum of lists": "{% set l = range(1000) | list %}{{ ([l] * 2000) | sum(start=[]) | length }}",
}


def render(template: str, **fields: Any) -> Any:
    config = {"url": template, **fields}
    return compile_config(config, step_id="bomb").render(TemplateContext())["url"]


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def refused_within(template: str, seconds: float = 10.0) -> tuple[TemplateError, int]:
    """The error rendering ``template`` raised, and the memory the render peaked at."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    began = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render(template)
    assert time.monotonic() - began < seconds
    return caught.value, tracemalloc.get_traced_memory()[1] - before


# --- the reported bombs -----------------------------------------------------------------


def test_nested_loops_are_stopped_by_the_iteration_limit(traced: None) -> None:
    error, _ = refused_within(CPU_BOMB)
    assert isinstance(error, TemplateSecurityError)
    assert error.step_id == "bomb" and error.config_field == "url"
    assert str(error) == (
        "step 'bomb': the template sandbox refused field 'url': "
        "more than 100000 loop iterations and calls"
    )


def test_exponential_macro_calls_are_stopped_by_the_iteration_limit() -> None:
    # Not traced: tracing makes each of the 100000 calls many times slower.
    began = time.monotonic()
    with pytest.raises(TemplateSecurityError, match="more than 100000 loop iterations and calls"):
        render(MACRO_BOMB)
    assert time.monotonic() - began < 8


@pytest.mark.parametrize("doublings", [30, 40])
def test_a_doubled_string_is_refused_before_it_is_built(traced: None, doublings: int) -> None:
    error, peak = refused_within(MEMORY_BOMB.replace("N", str(doublings)))
    assert isinstance(error, TemplateSecurityError) and error.config_field == "url"
    assert "text of 2097152 characters is over the limit of 1048576" in str(error)
    assert peak < 8 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_every_amplifier_is_bounded(traced: None, name: str) -> None:
    error, peak = refused_within(BOMBS[name])
    assert isinstance(error, TemplateSecurityError), error
    assert "field 'url'" in str(error)
    assert peak < 48 * 1024 * 1024, f"{name} peaked at {peak / 2**20:.0f} MiB"


def test_a_slow_render_stops_at_its_deadline() -> None:
    from vecron.templates.budget import Budget

    began = time.monotonic()
    with pytest.raises(TemplateSecurityError) as caught:
        compile_config({"url": SLOW}, step_id="bomb").render(
            TemplateContext(), Budget.for_timeout(0.2)
        )
    assert time.monotonic() - began < 1.5
    assert "rendering took longer than 0.2 s (the step's timeout)" in str(caught.value)


def test_within_the_limits_large_work_still_renders() -> None:
    assert render("{% for i in range(9000) %}{% for j in range(9) %}{% endfor %}{% endfor %}ok")
    assert len(render("{{ 'ab' * 500000 }}")) == 1_000_000
    assert render("{{ ((range(1000) | list) * 999) | length }}") == 999_000
    assert render("{{ [[1, 2]] * 3 }}") == [[1, 2], [1, 2], [1, 2]]
    rows = "{% set rows = range(5000) | list %}"
    assert render(rows + "{{ rows | sort(reverse=true) | first }}") == "4999"
    assert render("{{ {'a': [1, 2], 'b': 'x'} | tojson }}") == '{"a": [1, 2], "b": "x"}'
    assert render("{% set s = 'x' * 1000 %}{{ s[10:20] }}") == "x" * 10


# --- nesting ----------------------------------------------------------------------------


def deep(levels: int) -> str:
    return "{{ " + "(" * levels + "1" + ")" * levels + " }}"


@pytest.mark.parametrize(
    ("template", "limit"),
    [
        (deep(70), f"limit {MAX_NESTING} brackets"),
        (deep(MAX_NESTING + 1), f"limit {MAX_NESTING} brackets"),
        ("{{ " + "[" * 500 + "]" * 500 + " }}", f"limit {MAX_NESTING} brackets"),
        ("{{ " + " + ".join(["1"] * 300) + " }}", f"limit {MAX_TREE_DEPTH} levels"),
        ("{{ x" + " | abs" * 300 + " }}", f"limit {MAX_TREE_DEPTH} levels"),
        ("{{ " + "not " * 3000 + "x }}", "nested too deeply"),
        ("{% if x %}" * 400 + "{% endif %}" * 400, "nested too deeply"),
    ],
)
def test_deep_templates_are_refused_when_compiled(template: str, limit: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_config({"url": template}, step_id="deep")
    assert caught.value.config_field == "url"
    assert "step 'deep': field 'url': template nested too deeply" in str(caught.value)
    assert limit in str(caught.value)


def test_nesting_within_the_limit_compiles_and_renders() -> None:
    assert render(deep(MAX_NESTING)) == 1
    assert render("{{ " + " + ".join(["1"] * (MAX_TREE_DEPTH - 5)) + " }}") == MAX_TREE_DEPTH - 5


async def test_a_deep_expression_is_refused_at_apply_naming_the_field(runtime: Runtime) -> None:
    document = {
        "name": "deep",
        "steps": [
            {"id": "a", "type": "record"},
            {"id": "b", "type": "record", "label": deep(70), "when": deep(40)},
        ],
    }
    with pytest.raises(ValidationError) as caught:
        runtime.jobs.parse(document)
    assert caught.value.field == "steps[1].label"
    assert "template nested too deeply (limit 30 brackets)" in caught.value.one_line()
    assert caught.value.one_line().startswith("steps[1].label: ")
    document["steps"][1]["label"] = "fine"  # type: ignore[index]
    with pytest.raises(ValidationError) as caught:
        runtime.jobs.parse(document)
    assert caught.value.field == "steps[1].when"


# --- through the worker -----------------------------------------------------------------


def job(name: str, label: str, **over: Any) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "manual"}],
        "steps": [{"id": "send", "type": "record", "label": label, **over.pop("step", {})}],
        "retry": {"max_attempts": 3, "delay": 0.05},
        **over,
    }


async def run_job(runtime: Runtime, name: str, label: str, **over: Any) -> ExecutionView:
    await apply(runtime, job(name, label, **over))
    async with running(runtime):
        return await run_and_wait(runtime, name)


async def test_a_bomb_fails_its_step_for_good_and_nothing_is_sent(
    runtime: Runtime, calls: Any
) -> None:
    detail = await run_job(runtime, "cpu-bomb", CPU_BOMB, step={"timeout": 2}, timeout=3)
    assert detail.status is ExecutionStatus.FAILED
    assert detail.attempt == 1  # final: the same template fails the same way
    assert detail.steps[0].status is StepStatus.FAILED
    assert "field 'label'" in (detail.steps[0].error or "")
    assert "loop iterations" in (detail.steps[0].error or "")
    assert not calls.counts


async def test_a_render_past_the_step_timeout_never_reaches_the_executor(
    runtime: Runtime, calls: Any
) -> None:
    detail = await run_job(runtime, "slow-render", SLOW, step={"timeout": 0.3})
    assert detail.steps[0].status is StepStatus.FAILED
    assert "rendering took longer than 0.3 s (the step's timeout)" in (detail.steps[0].error or "")
    assert (detail.steps[0].finished_at - detail.steps[0].started_at).total_seconds() < 2
    assert not calls.counts


async def test_a_job_timeout_during_a_render_stops_it_and_sends_nothing(
    runtime: Runtime, calls: Any
) -> None:
    detail = await run_job(runtime, "job-timeout", SLOW, step={"timeout": 60}, timeout=0.3)
    assert detail.status is ExecutionStatus.TIMED_OUT
    assert "job timed out" in (detail.error or "")
    await asyncio.sleep(0.5)  # were the render not stopped, it would finish and send
    assert not calls.counts


async def test_a_render_finishing_after_the_deadline_sends_nothing(
    runtime: Runtime, calls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault: a render that ignores its budget (a slow step the meters do not see).
    original = PreparedStep._prepare

    def late(self: PreparedStep, context: TemplateContext, budget: Any) -> Any:
        time.sleep(0.4)
        return original(self, context, budget)

    monkeypatch.setattr(PreparedStep, "_prepare", late)
    detail = await run_job(
        runtime, "late", "{{ execution.id }}", step={"timeout": 0.2}, retry={"max_attempts": 1}
    )
    assert detail.steps[0].status is StepStatus.TIMED_OUT
    assert not calls.counts


async def test_the_event_loop_keeps_running_while_a_bomb_renders(
    runtime: Runtime, calls: Any
) -> None:
    await apply(runtime, job("slow-bomb", SLOW, step={"timeout": 30}))
    lateness: list[float] = []
    async with running(runtime):
        execution = (
            await runtime.triggers.fire(LOCAL_OPERATOR, "slow-bomb", kind="manual")
        ).execution
        loop = asyncio.get_running_loop()
        while (await runtime.store.get_execution(execution.id)).status.value in (
            "queued",
            "running",
        ):
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            lateness.append(loop.time() - due)
        detail = await runtime.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30)
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["done"] == 1  # under its limits, the slow render still finishes
    step = detail.steps[0]
    rendering = (step.finished_at - step.started_at).total_seconds()
    # Had the render held the loop, one sample would be as late as the whole render.
    assert rendering > 0.5, f"the render took {rendering} s: too short to show a blocked loop"
    assert lateness and max(lateness) < 0.25, (rendering, max(lateness, default=None))


# --- properties ---------------------------------------------------------------------------


def _old_finalize(value: Any) -> Any:
    # How mixed text read structures before the budget existed.
    if value is None or isinstance(value, bool | dict | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    return value


def _reference() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, finalize=_old_finalize, keep_trailing_newline=True
    )
    env.filters = dict(FILTERS)
    env.globals = {"range": range, "dict": dict, "namespace": Namespace}
    return env


scalars = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.text("abc xyz-", max_size=6).map(repr),
)
lists = st.lists(scalars, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0:
        return draw(st.one_of(scalars, lists))
    inner = draw(expressions(depth - 1))
    other = draw(expressions(depth - 1))
    return draw(
        st.sampled_from(
            [
                inner,
                f"({inner} ~ {other})",
                f"({inner} | string | upper)",
                f"({inner} | string | length)",
                f"({inner} | string | replace('a', 'bb'))",
                f"([{inner}, {other}] | join('-'))",
                f"([{inner}, {other}])",
                f"({{'k': {inner}}})",
                f"(({inner} | string) * 3)",
                f"(({inner} | string)[1:4])",
                f"({inner} | string | list | sort | join)",
            ]
        )
    )


@st.composite
def templates(draw: st.DrawFn) -> str:
    expression = draw(expressions())
    return draw(
        st.sampled_from(
            [
                "{{ " + expression + " }}",
                "x {{ " + expression + " }} y",
                "{% for i in range(3) %}{{ loop.index }}:{{ " + expression + " }},{% endfor %}",
                "{% set ns = namespace(s='') %}{% for c in " + expression + " | string %}"
                "{% set ns.s = ns.s ~ c %}{% endfor %}{{ ns.s }}",
                "{% macro m(v) %}<{{ v }}>{% endmacro %}{{ m(" + expression + ") }}",
            ]
        )
    )


@settings(max_examples=200)
@given(templates())
def test_within_the_budget_templates_render_as_before(template: str) -> None:
    expected = _reference().from_string(template).render()
    got = compile_config({"url": template}, step_id="p").render(TemplateContext())["url"]
    # A whole-field expression keeps its value's type: compare it as text would read.
    assert (got if isinstance(got, str) else str(_old_finalize(got))) == expected


@st.composite
def bombs(draw: st.DrawFn) -> str:
    n = draw(st.integers(1100, 100_000))
    k = draw(st.integers(21, 60))
    return draw(
        st.sampled_from(
            [
                f"{{% for i in range({min(n, 10000)}) %}}{{% for j in range({n // 10 + 11}) %}}"
                "{% endfor %}{% endfor %}",
                MEMORY_BOMB.replace("N", str(k)),
                MEMORY_BOMB.replace("N", str(k)).replace("~", "+"),
                f"{{{{ ('x' * {n}) * {n} }}}}",
                f"{{{{ (range({min(n, 10000)}) | list) * {n} }}}}",
                f"{{{{ ([('x' * {n})] * {n}) | join }}}}",
                f"{{{{ [('x' * {n})] * {k * 20} * {k * 20} }}}}",
            ]
        )
    )


@settings(max_examples=25)
@given(bombs())
def test_any_bomb_raises_a_template_error_and_nothing_else(template: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError):
            render(template)
        assert tracemalloc.get_traced_memory()[1] < 48 * 1024 * 1024
    finally:
        tracemalloc.stop()
