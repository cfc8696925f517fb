"""Errors: stable codes, every problem at its field, no library words, no CLI advice."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from vecron.cli.hints import HINTS, error_lines, hint_for
from vecron.errors import (
    DuplicateKindError,
    NotFoundError,
    PermissionDenied,
    Problem,
    ValidationError,
    problems_from_pydantic,
)

CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "vecron"
LIBRARY_WORDS = re.compile(r"Value error|Assertion failed|function-(after|before|wrap|plain)")
#: A field path as users write it: names joined by dots, list indexes in brackets.
FIELD_PATH = re.compile(r"[a-z_]+(\.[A-Za-z0-9_-]+|\[\d+\])*")


def test_one_error_is_one_problem_with_the_class_code() -> None:
    error = ValidationError("must be after start_at", field="end_at", hint="move it later")
    assert error.code == "validation"
    assert error.problems == (
        Problem(message="must be after start_at", field="end_at", code="validation"),
    )
    assert error.one_line() == "end_at: must be after start_at (move it later)"
    body = error.problem()
    assert body["status"] == 422 and body["type"].endswith("/validation")
    assert body["field"] == "end_at" and body["hint"] == "move it later"
    assert body["errors"] == [
        {"field": "end_at", "code": "validation", "message": "must be after start_at"}
    ]


def test_reason_is_the_problem_code_and_the_class_code_stays() -> None:
    error = NotFoundError("job 'ghost' not found", reason="job-not-found")
    assert error.code == "not-found" and error.status == 404
    assert error.problem()["errors"][0]["code"] == "job-not-found"
    assert error.problem()["code"] == "not-found"


def test_the_problem_document_lists_every_problem_with_its_source() -> None:
    problems = [
        Problem(message="unknown field", field="steps[0].colour", code="unknown-field"),
        Problem(message="duplicate step id 'a'", field="steps[1].id", code="duplicate-step-id"),
        Problem(
            message="unknown step type 'x'; installed: http",
            field="steps[2].type",
            code="unknown-step-type",
            params={"installed": ("http",)},
        ),
    ]
    error = ValidationError.of(problems, what="job document").at("jobs/a.yaml")
    body = json.loads(json.dumps(error.problem()))  # JSON as it is, no custom encoder
    assert body["detail"] == "jobs/a.yaml: 3 problems in the job document"
    assert body["source"] == "jobs/a.yaml" and "field" not in body
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("steps[0].colour", "unknown-field"),
        ("steps[1].id", "duplicate-step-id"),
        ("steps[2].type", "unknown-step-type"),
    ]
    assert body["errors"][2]["params"] == {"installed": ["http"]}
    assert {e["source"] for e in body["errors"]} == {"jobs/a.yaml"}
    assert error.one_line() == (
        "jobs/a.yaml: 3 problems in the job document: steps[0].colour: unknown field; "
        "steps[1].id: duplicate step id 'a'; steps[2].type: unknown step type 'x'; "
        "installed: http"
    )


def test_of_one_problem_is_that_problem_and_of_none_is_a_mistake() -> None:
    one = ValidationError.of([Problem(message="bad", field="name", code="pattern")])
    assert (one.message, one.field, one.problems[0].code) == ("bad", "name", "pattern")
    with pytest.raises(ValueError, match="at least one problem"):
        ValidationError.of([])


def test_permission_denied_carries_permission_and_resource_as_params() -> None:
    error = PermissionDenied("not allowed", permission="job:write", resource="job:nightly")
    assert error.problem()["errors"][0]["params"] == {
        "permission": "job:write",
        "resource": "job:nightly",
    }
    assert error.status == 403


# -- pydantic's errors ----------------------------------------------------------------


class Cron(BaseModel):
    kind: Literal["cron"]
    expression: str


class Rate(BaseModel):
    kind: Literal["rate"]
    seconds: int


def _positive(value: int) -> int:
    if value <= 0:  # raised, not asserted: pytest rewrites asserts in this module
        raise AssertionError("must be positive")
    return value


class Sample(BaseModel):
    """A model with every construct whose errors pydantic locates oddly."""

    model_config = ConfigDict(extra="forbid")

    port: int | str = 1
    trigger: Annotated[Cron | Rate, Field(discriminator="kind")] = Cron(kind="cron", expression="")
    count: Annotated[int, AfterValidator(_positive)] = 1
    headers: dict[str, int] = {}
    items: list[Rate] = []
    mode: str = "a"

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("a", "b"):
            raise ValueError(f"mode {value!r} is not a or b")
        return value


def problems_of(sample: dict[str, Any], **kw: Any) -> list[Problem]:
    with pytest.raises(pydantic.ValidationError) as caught:
        Sample.model_validate(sample)
    return problems_from_pydantic(caught.value.errors(include_url=False), **kw)


def test_schema_names_are_left_out_and_a_key_named_like_one_is_kept() -> None:
    data = {
        "trigger": {"kind": "rate", "seconds": "soon"},
        "headers": {"str": "x"},
        "items": [{"kind": "rate"}],
        "port": [],
    }
    found = {(p.field, p.code) for p in problems_of(data, data=data)}
    assert found == {
        ("trigger.seconds", "int-parsing"),  # not trigger.rate.seconds: the tag is left out
        ("headers.str", "int-parsing"),  # a real key, though pydantic names a schema so
        ("items[0].seconds", "missing"),
        ("port", "int-type"),  # not port.int and port.str
        ("port", "string-type"),
    }


def test_without_the_input_the_names_pydantic_gives_its_schemas_are_left_out() -> None:
    data = {"port": [], "count": 0}
    found = problems_of(data, prefix=("steps", 2))
    assert {p.field for p in found} == {"steps[2].port", "steps[2].count"}


def test_validator_messages_lose_the_library_prefix() -> None:
    data = {"count": -1, "mode": "z", "colour": "red"}
    found = {p.field: p for p in problems_of(data, data=data)}
    assert found["count"].message == "must be positive"
    assert found["mode"].message == "mode 'z' is not a or b"
    assert found["colour"].message == "unknown field" and found["colour"].code == "unknown-field"
    assert found["count"].code == found["mode"].code == "invalid"


bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=2),
)
bad_samples = st.fixed_dictionaries(
    {},
    optional={
        "port": bad_values,
        "trigger": bad_values
        | st.fixed_dictionaries(
            {"kind": st.sampled_from(["cron", "rate", "x"])},
            optional={"seconds": bad_values, "expression": bad_values},
        ),
        "count": bad_values,
        "headers": bad_values,
        "items": st.lists(bad_values, max_size=2),
        "mode": bad_values,
        "colour": bad_values,
    },
)


@given(bad_samples, st.booleans())
def test_no_library_words_reach_a_message_or_a_field(
    data: dict[str, Any], with_input: bool
) -> None:
    try:
        Sample.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        return
    found = (
        problems_from_pydantic(errors, data=data) if with_input else problems_from_pydantic(errors)
    )
    assert found, "every pydantic error becomes a problem"
    for problem in found:
        assert problem.message and not LIBRARY_WORDS.search(problem.message)
        assert problem.field is None or not LIBRARY_WORDS.search(problem.field)
        assert (
            problem.field is None
            or problem.field.split(".")[0].split("[")[0] in Sample.model_fields
            or problem.field.startswith("colour")
        )
        json.dumps(ValidationError.of(found).problem())


# -- the CLI's advice ---------------------------------------------------------------


def test_one_problem_is_one_line_with_the_cli_advice() -> None:
    error = NotFoundError("job 'ghost' not found", reason="job-not-found")
    assert error.one_line() == "job 'ghost' not found"  # the core gives no advice
    assert error_lines(error) == ["job 'ghost' not found (`vecron job list` shows the jobs)"]


def test_several_problems_are_a_count_then_one_indented_line_each() -> None:
    problems = [
        Problem(message="unknown field", field="steps[0].colour", code="unknown-field"),
        Problem(message="kind 'x' clashes", code="duplicate-kind"),
    ]
    error = ValidationError.of(problems, what="job document").at("b.yaml")
    assert error_lines(error) == [
        "b.yaml: 2 problems in the job document",
        "  steps[0].colour: unknown field",
        "  kind 'x' clashes (uninstall one of them or block it with VECRON_DISABLE_PLUGINS)",
    ]


def test_advice_for_a_field_wins_over_advice_for_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {**HINTS, ("unknown-field", "colour"): "colours are not supported"}
    monkeypatch.setattr("vecron.cli.hints.HINTS", table)
    assert hint_for(Problem(message="m", field="colour", code="unknown-field")) == (
        "colours are not supported"
    )
    assert hint_for(Problem(message="m", field="shape", code="unknown-field")) is None


def test_duplicate_kind_advice_is_the_clis() -> None:
    error = DuplicateKindError("executor", "http", "a", "b")
    assert "VECRON_DISABLE_PLUGINS" not in error.one_line()
    assert "VECRON_DISABLE_PLUGINS" in error_lines(error)[0]
    assert error.problem()["errors"][0]["params"]["plugins"] == ["a", "b"]


#: Advice that names a CLI command, a flag or an environment variable.
CLI_ADVICE = re.compile(r"`vecron |(^|[\s(])--[a-z]|VECRON_")
#: Settings are read by the starting process itself, before any front end, so its
#: advice (the config file, VECRON_* variables) is for whoever starts it, not a client.
OPERATOR_ONLY = {"settings.py"}


def _hints_in(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r"hint=((?:f?\"[^\"]*\"\s*)+)", text)


def test_the_core_gives_no_cli_advice() -> None:
    offenders = [
        f"{path.relative_to(CORE)}: {hint}"
        for path in sorted(CORE.rglob("*.py"))
        if "cli" not in path.relative_to(CORE).parts and path.name not in OPERATOR_ONLY
        for hint in _hints_in(path)
        if CLI_ADVICE.search(hint)
    ]
    assert offenders == []


def test_every_cli_hint_answers_a_code_the_core_raises() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in CORE.rglob("*.py"))
    # An error's reason, or the code of one Problem among several; given as text or as a
    # module constant (``reason=JOB_DISABLED`` with ``JOB_DISABLED = "job-disabled"``).
    raised = set(re.findall(r"(?:reason|code)=\"([a-z-]+)\"", source)) | set(
        re.findall(r"code = \"([a-z-]+)\"", source)
    )
    constants = dict(re.findall(r"^([A-Z_]+) = \"([a-z-]+)\"", source, re.MULTILINE))
    raised |= {
        constants[name]
        for name in re.findall(r"(?:reason|code)=([A-Z_]+)\b", source)
        if name in constants
    }
    assert {code for code, _ in HINTS} - raised == set()
