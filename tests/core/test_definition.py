"""Job documents: what is accepted, and for the rest every problem, each naming its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecron.errors import ValidationError
from vecron.jobs.documents import json_schema, parse_definition, parse_text
from vecron.plugin.manager import build_registry
from vecron.plugin.registry import Registry


@pytest.fixture
def registry(test_pm: pluggy.PluginManager) -> Registry:
    return build_registry(test_pm)


def doc(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "nightly",
        "triggers": [{"type": "cron", "expression": "0 0 2 * * ?"}],
        "steps": [{"id": "one", "type": "record", "label": "a", "timeout": 5}],
    }
    base.update(over)
    return base


def parse(data: Any, registry: Registry) -> Any:
    return parse_definition(data, registry, default_timezone="Asia/Ho_Chi_Minh")


def test_inline_step_config_is_split_from_step_keys(registry: Registry) -> None:
    d = parse(doc(), registry)
    assert d.timezone == "Asia/Ho_Chi_Minh"
    assert d.steps[0].timeout == 5
    assert d.steps[0].config == {"label": "a"}
    assert d.triggers[0].config == {"expression": "0 0 2 * * ?"}
    assert d.document()["steps"][0] == {"id": "one", "type": "record", "label": "a", "timeout": 5.0}


def test_no_triggers_means_manual_only(registry: Registry) -> None:
    d = parse(doc(triggers=None), registry)
    assert [t.type for t in d.triggers] == ["manual"]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            doc(steps=[{"id": "one", "type": "nope"}]),
            "steps[0].type",
            ["unknown step type 'nope'", "record"],
        ),
        (
            doc(steps=[{"id": "one", "type": "record", "colour": "red"}]),
            "steps[0].colour",
            ["unknown field"],
        ),
        (doc(colour="red"), "colour", ["unknown field"]),
        (doc(timezone="Mars/Olympus"), "timezone", ["unknown time zone"]),
        (
            doc(start_at="2026-05-01T00:00:00", end_at="2026-04-01T00:00:00"),
            "end_at",
            ["after start_at"],
        ),
        (
            doc(triggers=[{"type": "cron", "expression": "61 * * * * ?"}]),
            "triggers[0].expression",
            ["second"],
        ),
        (doc(triggers=[{"type": "hourly"}]), "triggers[0].type", ["unknown trigger type"]),
        (doc(steps=[]), "steps", ["at least 1"]),
        (
            doc(steps=[{"id": "a", "type": "record"}, {"id": "a", "type": "record"}]),
            "steps[1].id",
            ["duplicate"],
        ),
        (doc(retry={"max_attempts": 0}), "retry.max_attempts", ["greater than or equal to 1"]),
        (doc(name="bad name!"), "name", ["pattern"]),
    ],
)
def test_bad_documents_name_the_field(
    registry: Registry, data: Any, field: str, words: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    assert info.value.field == field
    line = info.value.one_line()
    assert "\n" not in line
    for word in words:
        assert word in line


def test_naive_start_and_end_are_wall_times_of_the_job_zone(registry: Registry) -> None:
    d = parse(doc(timezone="Europe/Berlin", start_at="2026-07-01T08:00:00"), registry)
    assert d.start_at is not None and d.start_at.utcoffset() is not None
    assert d.start_at.isoformat() == "2026-07-01T08:00:00+02:00"


@pytest.mark.parametrize(
    ("text", "words"),
    [('{"name": "x",', "invalid JSON at line 1"), ("name: [unclosed", "invalid YAML at line 1")],
)
def test_malformed_text_names_source_and_line(text: str, words: str) -> None:
    with pytest.raises(ValidationError, match=r"jobs/x\.yaml") as info:
        parse_text(text, source="jobs/x.yaml")
    assert words in str(info.value)


def test_schema_has_one_variant_per_installed_step_type(registry: Registry) -> None:
    schema = json_schema(registry)
    variants = schema["properties"]["steps"]["items"]["oneOf"]
    kinds = {v["properties"]["type"]["const"] for v in variants}
    assert kinds == set(registry.executors)
    record = next(v for v in variants if v["properties"]["type"]["const"] == "record")
    assert {"id", "timeout", "label", "fail_times"} <= set(record["properties"])
    assert record["additionalProperties"] is False
    trigger_kinds = {
        v["properties"]["type"]["const"] for v in schema["properties"]["triggers"]["items"]["oneOf"]
    }
    assert {"manual", "cron", "fixed_rate", "fixed_delay", "once"} <= trigger_kinds


@pytest.mark.parametrize(
    ("allow", "policy", "overlap"),
    [
        (False, None, "skip"),
        (True, None, "allow"),
        (False, {"overlap": "skip", "jitter": 2}, "skip"),
        (True, {"overlap": "allow"}, "allow"),
        (False, {"misfire": "skip"}, "skip"),
    ],
)
def test_allow_concurrent_is_stored_as_the_overlap_policy(
    registry: Registry, allow: bool, policy: dict[str, Any] | None, overlap: str
) -> None:
    extra = {} if policy is None else {"policy": policy}
    d = parse(doc(allow_concurrent=allow, **extra), registry)
    assert d.policy.overlap.value == overlap
    if policy is not None:  # the rest of the policy is kept
        assert d.policy.model_dump(exclude_unset=True) == {**policy, "overlap": overlap}
    stored = d.document()
    assert "allow_concurrent" not in stored and stored["policy"]["overlap"] == overlap
    # The same job written with policy.overlap is the same definition: no new version.
    assert d == parse(doc(policy={**(policy or {}), "overlap": overlap}), registry)
    assert parse(stored, registry) == d


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            doc(allow_concurrent=False, policy={"overlap": "allow"}),
            "false contradicts policy.overlap 'allow'",
        ),
        (
            doc(allow_concurrent=True, policy={"overlap": "skip"}),
            "true contradicts policy.overlap 'skip'",
        ),
        (doc(allow_concurrent="no"), "must be true or false"),
        (doc(allow_concurrent=None), "must be true or false"),
    ],
)
def test_allow_concurrent_that_is_not_a_boolean_or_contradicts_names_the_field(
    registry: Registry, data: Any, words: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    assert info.value.field == "allow_concurrent"
    assert words in info.value.one_line()


def test_schema_describes_allow_concurrent(registry: Registry) -> None:
    schema = json_schema(registry)
    assert schema["properties"]["allow_concurrent"]["type"] == "boolean"
    assert "policy.overlap" in schema["properties"]["allow_concurrent"]["description"]


# -- every problem at once ------------------------------------------------------------

LIBRARY_WORDS = re.compile(r"Value error|Assertion failed|function-(after|before)|\.str\b")


def problems(data: Any, registry: Registry) -> list[tuple[str | None, str]]:
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    return [(p.field, p.code) for p in info.value.problems]


def test_three_mistakes_are_three_problems_each_at_its_field(registry: Registry) -> None:
    data = doc(
        timezone="Mars/Base",
        steps=[{"id": "one", "type": "record", "colour": "red"}, {"id": "two", "type": "nope"}],
        retry={"max_attempts": 0},
    )
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    error = info.value
    assert [(p.field, p.code) for p in error.problems] == [
        ("timezone", "unknown-time-zone"),
        ("steps[0].colour", "unknown-field"),
        ("steps[1].type", "unknown-step-type"),
        ("retry.max_attempts", "greater-than-equal"),
    ]
    assert error.message == "4 problems in the job document" and error.field is None
    assert [e["field"] for e in error.problem()["errors"]] == [p.field for p in error.problems]
    assert "\n" not in error.one_line()


def test_a_problem_hides_its_consequences(registry: Registry) -> None:
    # A step that is not an object has no fields to complain about; a bad zone does not
    # make naive times a second problem; a step without a type gets no config check.
    data = doc(
        steps=["ping", {"id": "two", "label": "b"}],
        timezone="Nowhere/Here",
        start_at="2026-05-01T00:00:00",
    )
    assert problems(data, registry) == [
        ("timezone", "unknown-time-zone"),
        ("steps[0]", "not-an-object"),
        ("steps[1].type", "missing"),
    ]


def test_a_contradicting_shorthand_does_not_hide_the_rest(registry: Registry) -> None:
    data = doc(allow_concurrent=True, policy={"overlap": "skip"}, name="bad name!")
    assert problems(data, registry) == [
        ("allow_concurrent", "contradiction"),
        ("name", "string-pattern-mismatch"),
    ]


def test_every_bad_reference_is_reported(registry: Registry) -> None:
    data = doc(
        steps=[
            {"id": "a", "type": "record", "label": "{{ steps.b.output }}"},
            {"id": "b", "type": "record", "label": "{{ steps.zz.output }}"},
        ]
    )
    assert problems(data, registry) == [
        ("steps[0].label", "template-reference"),
        ("steps[1].label", "template-reference"),
    ]


def test_a_validator_message_has_no_library_prefix(registry: Registry) -> None:
    data = doc(triggers=[{"type": "cron", "expression": "61 * * * * ?"}, {"type": "cron"}])
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    fields = {p.field: p.message for p in info.value.problems}
    assert set(fields) == {"triggers[0].expression", "triggers[1].expression"}
    assert fields["triggers[0].expression"].startswith("second field '61'")
    assert not LIBRARY_WORDS.search(info.value.one_line())


#: One mistake each, and the field it must be reported at, whatever else is wrong. Config
#: mistakes sit on steps[0]: a step of an unknown type (steps[1]) has no config to check.
MISTAKES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "name": (lambda d: d.update(name="bad name!"), "name"),
    "zone": (lambda d: d.update(timezone="Mars/Base"), "timezone"),
    "attempts": (lambda d: d.update(retry={"max_attempts": 0}), "retry.max_attempts"),
    "misfire": (lambda d: d.update(policy={"misfire": "sometimes"}), "policy.misfire"),
    "gap": (lambda d: d.update(dst={"gap": "jump"}), "dst.gap"),
    "tag": (lambda d: d.update(tags=["x" * 101]), "tags[0]"),
    "unknown": (lambda d: d.update(colour="red"), "colour"),
    "shorthand": (lambda d: d.update(allow_concurrent="no"), "allow_concurrent"),
    "extra": (lambda d: d["steps"][0].update(colour="red"), "steps[0].colour"),
    "timeout": (lambda d: d["steps"][0].update(timeout=-1), "steps[0].timeout"),
    "type": (lambda d: d["steps"][1].update(type="teleport"), "steps[1].type"),
    "step id": (lambda d: d["steps"][1].update(id="9 lives"), "steps[1].id"),
    "config": (lambda d: d["steps"][0].update(fail_times="many"), "steps[0].fail_times"),
    "cron": (
        lambda d: d["triggers"][0].update(expression="61 * * * * ?"),
        "triggers[0].expression",
    ),
    "trigger": (lambda d: d["triggers"].append({"type": "hourly"}), "triggers[1].type"),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sets(st.sampled_from(sorted(MISTAKES)), min_size=1, max_size=6))
def test_every_mistake_is_reported_at_its_field(registry: Registry, chosen: set[str]) -> None:
    data = doc(steps=[{"id": "one", "type": "record"}, {"id": "two", "type": "record"}])
    for name in chosen:
        MISTAKES[name][0](data)
    with pytest.raises(ValidationError) as info:
        parse(data, registry)
    reported = [(p.field, p.message) for p in info.value.problems]
    assert {MISTAKES[name][1] for name in chosen} <= {field for field, _ in reported}
    assert len(reported) == len(set(reported)), "no problem is reported twice"
    for problem in info.value.problems:
        assert problem.message and not LIBRARY_WORDS.search(problem.message)
        assert problem.field is not None and not LIBRARY_WORDS.search(problem.field)


def test_a_template_syntax_error_is_one_problem_beside_the_others(registry: Registry) -> None:
    # Its step's other fields wait: which of them are templates is unknown until it parses.
    data = doc(
        steps=[
            {"id": "one", "type": "record", "label": "{{ vars.x ", "fail_times": "many"},
            {"id": "two", "type": "nope"},
        ]
    )
    assert problems(data, registry) == [
        ("steps[0].label", "template"),
        ("steps[1].type", "unknown-step-type"),
    ]


def test_a_templated_field_is_checked_at_run_time_not_when_read(registry: Registry) -> None:
    data = doc(steps=[{"id": "one", "type": "record", "fail_times": "{{ vars.n }}"}])
    assert parse(data, registry).steps[0].config == {"fail_times": "{{ vars.n }}"}
    data["steps"][0]["colour"] = "red"  # the rest of the config is still checked
    assert problems(data, registry) == [("steps[0].colour", "unknown-field")]
