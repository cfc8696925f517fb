"""Step-config templates: namespaces, types, strict references, the sandbox, SQL, masking."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, field_validator

from vecron.errors import (
    FinalError,
    TemplateError,
    TemplateSecurityError,
    ValidationError,
)
from vecron.execution.steps import PreparedStep
from vecron.models.definition import StepSpec
from vecron.plugin.executor import Executor, StepContext
from vecron.templates import (
    MIN_SECRET_LENGTH,
    TemplateContext,
    compile_condition,
    compile_config,
    compile_sql,
    mask,
    references,
    render_sql,
    validate_step_references,
)

MASK = "**********"

FETCH_OUTPUT: dict[str, Any] = {
    "status_code": 200,
    "count": 3,
    "ratio": 0.5,
    "ok": True,
    "nothing": None,
    "body": {"items": [{"id": 7, "tags": ["a"]}, {"id": 9, "tags": []}], "next": None},
}


def context(**over: Any) -> TemplateContext:
    base: dict[str, Any] = {
        "vars": {"API_TOKEN": "tok-123", "REGION": "eu", "ENABLED": "false", "N": "42"},
        "steps": {"fetch": {"status": "succeeded", "output": FETCH_OUTPUT}},
        "trigger": {"type": "cron", "fire_time": "2025-03-01T02:00:00+07:00"},
        "execution": {
            "id": "ex-1",
            "scheduled_at": "2025-03-01T02:00:00+07:00",
            "attempt": 2,
            "job": "nightly",
        },
    }
    base.update(over)
    return TemplateContext(**base)


def render(value: Any, ctx: TemplateContext | None = None, step_id: str = "post") -> Any:
    return compile_config({"f": value}, step_id=step_id).render(ctx or context())["f"]


# --- namespaces -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.API_TOKEN }}", "tok-123"),
        ("Bearer {{ vars.API_TOKEN }}", "Bearer tok-123"),
        ("{{ steps.fetch.output.count }}", 3),
        ("{{ steps.fetch.status }}", "succeeded"),
        ("{{ steps.fetch.output.body.items[0].id }}", 7),
        ("{{ steps['fetch'].output['body']['items'][-1].id }}", 9),
        ("{{ trigger.type }}/{{ trigger.fire_time }}", "cron/2025-03-01T02:00:00+07:00"),
        ("{{ execution.id }}", "ex-1"),
        ("{{ execution.scheduled_at }}", "2025-03-01T02:00:00+07:00"),
        ("{{ execution.attempt }}", 2),
        ("{{ execution.job }}", "nightly"),
    ],
)
def test_every_namespace_is_readable(template: str, expected: Any) -> None:
    assert render(template) == expected


def test_manual_trigger_params_and_user() -> None:
    ctx = context(trigger={"type": "manual", "params": {"day": "2025-01-02", "n": 5}, "by": "al"})
    assert render("{{ trigger.params.day }} by {{ trigger.by }}", ctx) == "2025-01-02 by al"
    assert render("{{ trigger.params.n }}", ctx) == 5


def test_webhook_payload_is_readable_as_trigger_and_as_webhook() -> None:
    ctx = context(trigger={"type": "webhook", "payload": {"order_id": 31}})
    assert render("{{ trigger.payload.order_id }}", ctx) == 31
    assert render("{{ webhook.payload.order_id }}", ctx) == 31
    with pytest.raises(TemplateError, match="'webhook'"):
        render("{{ webhook.payload.order_id }}")  # a cron fire has no webhook


def test_output_keys_win_over_dict_methods() -> None:
    # `items`, `keys`, `values` are data keys here, not dict methods.
    ctx = context(steps={"s": {"output": {"items": [1, 2], "keys": "k", "values": {"a": 1}}}})
    assert render("{{ steps.s.output.items }}", ctx) == [1, 2]
    assert render("{{ steps.s.output.keys }}-{{ steps.s.output.values.a }}", ctx) == "k-1"
    # Without such a key, the method is still there for loops.
    loop = "{% for k, v in steps.s.output.values.items() %}{{ k }}={{ v }},{% endfor %}"
    assert render(loop, ctx) == "a=1,"


# --- types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected", "kind"),
    [
        ("{{ steps.fetch.output.count }}", 3, int),
        ("{{ steps.fetch.output.ratio }}", 0.5, float),
        ("{{ steps.fetch.output.ok }}", True, bool),
        ("{{ steps.fetch.output.nothing }}", None, type(None)),
        ("{{ steps.fetch.output.body.items[0] }}", {"id": 7, "tags": ["a"]}, dict),
        ("{{ steps.fetch.output.body.items | map(attribute='id') | list }}", [7, 9], list),
        ("{{ vars.N }}", "42", str),  # a string that looks like a number stays a string
        ("{{ vars.N | int + 1 }}", 43, int),
        ("{{ range(3) }}", [0, 1, 2], list),
    ],
)
def test_whole_field_expression_keeps_its_type(template: str, expected: Any, kind: type) -> None:
    value = render(template)
    assert value == expected
    assert type(value) is kind


def test_rendered_values_are_copies_of_the_context() -> None:
    ctx = context()
    value = render("{{ steps.fetch.output.body }}", ctx)
    value["items"].append("changed")
    assert FETCH_OUTPUT["body"]["items"] == [{"id": 7, "tags": ["a"]}, {"id": 9, "tags": []}]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("n={{ steps.fetch.output.count }}", "n=3"),
        ("{{ steps.fetch.output.count }} items", "3 items"),
        (
            "ok={{ steps.fetch.output.ok }}&next={{ steps.fetch.output.nothing }}",
            "ok=true&next=null",
        ),
        ("body={{ steps.fetch.output.body.items[1] }}", 'body={"id": 9, "tags": []}'),
        ("{{ vars.REGION }}-{{ vars.N }}\n", "eu-42\n"),
        ("{{ vars.REGION }}{# a comment #}!", "eu!"),
    ],
)
def test_mixed_text_renders_to_a_string(template: str, expected: str) -> None:
    assert render(template) == expected


def test_datetimes_render_as_iso_text_and_stay_datetimes_alone() -> None:
    when = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    ctx = context(execution={"id": "e", "scheduled_at": when})
    assert render("at {{ execution.scheduled_at }}", ctx) == "at 2025-03-01T02:00:00+00:00"
    assert render("{{ execution.scheduled_at }}", ctx) == when


def test_nested_config_is_walked_and_static_parts_are_untouched() -> None:
    config = {
        "url": "https://api/{{ vars.REGION }}/orders",
        "method": "POST",
        "timeout": 5,
        "headers": {"Authorization": "Bearer {{ vars.API_TOKEN }}", "X-Static": "1"},
        "json": {"id": "{{ steps.fetch.output.body.items[0].id }}", "tags": ["x", "{{ 1 + 1 }}"]},
        "literal": "a { b } c",
    }
    compiled = compile_config(config, step_id="post")
    assert compiled.fields == ("url", "headers.Authorization", "json.id", "json.tags[1]")
    assert compiled.render(context()) == {
        "url": "https://api/eu/orders",
        "method": "POST",
        "timeout": 5,
        "headers": {"Authorization": "Bearer tok-123", "X-Static": "1"},
        "json": {"id": 7, "tags": ["x", 2]},
        "literal": "a { b } c",
    }
    assert config["json"] == {"id": "{{ steps.fetch.output.body.items[0].id }}",
                              "tags": ["x", "{{ 1 + 1 }}"]}  # fmt: skip


def test_a_config_without_templates_is_static_and_rendered_as_a_copy() -> None:
    config = {"a": [1, {"b": "c"}], "d": "no braces"}
    compiled = compile_config(config, step_id="s")
    assert compiled.is_static and compiled.fields == ()
    first = compiled.render(context())
    first["a"].append(2)
    assert compiled.render(context()) == config


# --- filters --------------------------------------------------------------------------


def test_jsonpath_filter_on_nested_data() -> None:
    assert render("{{ steps.fetch.output.body | jsonpath('$.items[*].id') }}") == [7, 9]
    assert render("{{ steps.fetch.output.body | jsonpath('$.items[?(@.id > 8)].id') }}") == [9]
    assert render("{{ steps.fetch.output.body | jsonpath('$.items[*].id', first=True) }}") == 7
    assert render("{{ steps.fetch.output.body | jsonpath_first('$.items[1].id') }}") == 9
    assert render("{{ steps.fetch.output.body | jsonpath('$.missing[*]') }}") == []
    assert render("ids={{ steps.fetch.output.body | jsonpath('$..id') | join(',') }}") == "ids=7,9"


def test_jsonpath_first_without_match_and_bad_expressions_fail() -> None:
    with pytest.raises(TemplateError, match=r"field 'f'.*matched nothing"):
        render("{{ steps.fetch.output.body | jsonpath_first('$.nope') }}")
    with pytest.raises(TemplateError, match=r"field 'f'.*invalid JSONPath"):
        render("{{ steps.fetch.output.body | jsonpath('$.[[') }}")
    with pytest.raises(TemplateError, match=r"'steps\.fetch\.output\.bdy'"):
        render("{{ steps.fetch.output.bdy | jsonpath('$.items') }}")


def test_default_tojson_fromjson_and_base64() -> None:
    assert render("{{ vars.MISSING | default('fallback') }}") == "fallback"
    assert render("{{ steps.fetch.output.no.such.path | default(0) }}") == 0
    assert render("{{ vars.MISSING is defined }}") is False
    assert render("{{ steps.fetch.output.body.items[0] | tojson }}") == '{"id": 7, "tags": ["a"]}'
    assert render("{{ '<a & b>' | tojson }}") == '"<a & b>"'  # no HTML escaping
    assert render("{{ '{\"a\": [1, 2]}' | fromjson }}") == {"a": [1, 2]}
    assert render("{{ 'user:pw' | b64encode }}") == "dXNlcjpwdw=="
    assert render("{{ 'dXNlcjpwdw==' | b64decode }}") == "user:pw"


# --- strict references ----------------------------------------------------------------


def test_undefined_reference_names_step_reference_and_field() -> None:
    compiled = compile_config({"json": {"id": "{{ steps.fetch.output.itemz }}"}}, step_id="post")
    with pytest.raises(TemplateError) as caught:
        compiled.render(context())
    assert str(caught.value) == (
        "step 'post': undefined reference 'steps.fetch.output.itemz' in field 'json.id'"
    )
    error = caught.value
    assert isinstance(error, FinalError) and error.retryable is False
    assert (error.step_id, error.config_field, error.reference) == (
        "post",
        "json.id",
        "steps.fetch.output.itemz",
    )


@pytest.mark.parametrize(
    ("template", "reference"),
    [
        ("{{ vars.NOPE }}", "vars.NOPE"),
        ("x={{ vars.NOPE }}", "vars.NOPE"),
        ("{{ steps.later.output.x }}", "steps.later"),
        ("{{ steps.fetch.output.body.items[5].id }}", "steps.fetch.output.body.items[5]"),
        ("{{ steps.fetch.output.count + vars.NOPE }}", "vars.NOPE"),
        ("{{ [1, vars.NOPE] }}", "vars.NOPE"),
        ("{{ {'a': trigger.params} }}", "trigger.params"),
        ("{% if vars.NOPE %}y{% endif %}", "vars.NOPE"),
        ("{{ unknown_name }}", "unknown_name"),
    ],
)
def test_undefined_references_raise_instead_of_rendering_empty(
    template: str, reference: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template)
    assert caught.value.reference == reference
    assert f"undefined reference {reference!r}" in str(caught.value)
    assert "step 'post'" in str(caught.value)


def test_an_undefined_loop_value_still_fails_with_jinjas_description() -> None:
    with pytest.raises(TemplateError, match=r"undefined reference in field 'f'.*'missing'"):
        render("{% for i in steps.fetch.output.body.items %}{{ i.missing }}{% endfor %}")


@pytest.mark.parametrize(
    ("template", "line"),
    [("{{ vars.X ", 1), ("ok\n{{ vars.X + }}", 2), ("{% for x in y %}", 1), ("{{ a b }}", 1)],
)
def test_syntax_errors_name_field_and_line(template: str, line: int) -> None:
    with pytest.raises(TemplateError, match=rf"syntax error in field 'body\.text', line {line}"):
        compile_config({"body": {"text": template}}, step_id="post")


def test_runtime_errors_other_than_undefined_are_template_errors() -> None:
    with pytest.raises(TemplateError, match=r"cannot render field 'f': TypeError"):
        render("{{ steps.fetch.output.count + 'a' }}")
    with pytest.raises(TemplateError, match=r"not data"):
        render("{{ self }}")


def test_error_messages_mask_secret_values() -> None:
    ctx = context(secrets=frozenset({"tok-123"}))
    with pytest.raises(TemplateError) as caught:
        render("{{ steps.fetch.output | jsonpath(vars.API_TOKEN ~ '[[') }}", ctx)
    assert "tok-123" not in str(caught.value) and MASK in str(caught.value)


# --- sandbox --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ namespace.__init__.__globals__.os }}",
        "{{ range.__globals__ }}",
        "{{ dict.mro() }}",
        "{{ steps.fetch.output.__class__ }}",
        "{{ steps.fetch.output.body.items.append(1) }}",
        "{{ steps.fetch.output.body.pop('items') }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ 'x'.center(10**9) }}",
        "{{ 'x' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ 7 ** (10 ** 6) }}",
        "{{ range(10**9) | list }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ 'ab' | replace('', 'x' * 999999) }}",
        "{% include '/etc/passwd' %}",
        "{% import 'x.html' as x %}",
        "{% from 'x' import y %}",
        "{% extends 'base' %}",
    ],
)
def test_sandbox_escapes_are_rejected(payload: str) -> None:
    with pytest.raises(TemplateSecurityError) as caught:
        render(payload)
    assert isinstance(caught.value, TemplateError) and caught.value.retryable is False
    assert "step 'post'" in str(caught.value) and "field 'f'" in str(caught.value)


@pytest.mark.parametrize("payload", ["{{ lipsum(5) }}", "{{ joiner() }}", "{{ cycler(1) }}"])
def test_globals_that_could_leak_internals_do_not_exist(payload: str) -> None:
    with pytest.raises(TemplateError, match=r"undefined reference '(lipsum|joiner|cycler)'"):
        render(payload)


def test_the_runtime_sandbox_backs_up_the_static_check() -> None:
    # A dunder name the static check cannot see: it arrives in data.
    ctx = context(vars={"ATTR": "__class__", "G": "__globals__"})
    with pytest.raises(TemplateSecurityError, match="'__class__' of 'str' object is unsafe"):
        render("{{ ''[vars.ATTR] }}", ctx)
    with pytest.raises(TemplateSecurityError, match="unsafe"):
        render("{{ range[vars.G] }}", ctx)


def test_within_limits_the_capped_operations_work() -> None:
    assert render("{{ 'ab' * 3 }}") == "ababab"
    assert render("{{ range(3) | sum }}") == 3
    assert render("{{ 2 ** 10 }}") == 1024
    assert render("{{ 7 % 3 }}") == 1
    assert render("{{ 'a-b' | replace('-', '+') }}") == "a+b"


# --- when -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("steps.fetch.output.status_code == 200", True),
        ("steps.fetch.output.status_code != 200", False),
        ("{{ steps.fetch.output.count > 2 }}", True),
        ("  {{ steps.fetch.output.body.items | length == 0 }}  ", False),
        ("vars.ENABLED", False),  # the string "false"
        ("{{ vars.REGION }}", True),
        ("steps.fetch.output.nothing", False),
        ("vars.MISSING is defined and vars.MISSING", False),
        ("trigger.type == 'cron' and execution.attempt >= 2", True),
        ("'}}' in vars.REGION", False),
    ],
)
def test_when_conditions(condition: str, expected: bool) -> None:
    assert compile_condition(condition, "notify").evaluate(context()) is expected


def test_when_with_undefined_reference_fails_instead_of_skipping() -> None:
    condition = compile_condition("steps.fetch.output.statuz == 200", "notify")
    with pytest.raises(TemplateError) as caught:
        condition.evaluate(context())
    assert str(caught.value) == (
        "step 'notify': undefined reference 'steps.fetch.output.statuz' in field 'when'"
    )


def test_when_syntax_errors_name_the_when_field() -> None:
    with pytest.raises(
        TemplateError, match=r"step 'notify': template syntax error in field 'when'"
    ):
        compile_condition("steps.fetch.output ==", "notify")
    with pytest.raises(TemplateError, match=r"field 'when'"):
        compile_condition("{{ a }} and {{ b }}", "notify")


# --- static references ----------------------------------------------------------------


def test_references_reports_roots() -> None:
    config = {
        "url": "{{ steps.fetch.output.body | jsonpath('$.items[*].id') }}",
        "headers": {"A": "Bearer {{ vars.API_TOKEN }}"},
        "json": ["{{ trigger.params.day }}", "{{ execution.id }}", "{{ steps[vars.WHICH] }}"],
        "loop": "{% for i in steps.list.output.rows %}{{ i.id }}{{ loop.index }}{% endfor %}",
        "set": "{% set x = range(3) %}{{ x | list }}{{ namespace(a=dict(b=1)) }}",
        "plain": "no templates here",
    }
    assert references(config) == {
        "steps.fetch",
        "vars.API_TOKEN",
        "trigger.params",
        "execution.id",
        "steps",
        "vars.WHICH",
        "steps.list",
    }
    assert references("{{ steps.a.output }} {{ steps['b'].output }}") == {"steps.a", "steps.b"}
    assert references("plain text") == set()


def test_validate_accepts_references_to_earlier_steps() -> None:
    validate_step_references(
        [
            ("fetch", {"url": "https://x/{{ vars.REGION }}"}, None),
            ("post", {"json": {"id": "{{ steps.fetch.output.id }}"}}, "steps.fetch.status"),
            ("notify", {"text": "{{ steps.post.output }} {{ trigger.type }}"}, None),
        ]
    )


def test_validate_rejects_python_internals_before_anything_runs() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_step_references([("a", {"x": {"y": "{{ ''.__class__.__mro__ }}"}}, None)])
    assert caught.value.field == "steps[0].x.y"
    assert "access to '__class__', '__mro__' is not available" in caught.value.message
    with pytest.raises(ValidationError, match="__globals__"):
        validate_step_references([("a", {}, "self.__init__['__globals__']")])


def test_underscore_data_keys_are_still_data() -> None:
    ctx = context(steps={"db": {"output": {"_id": "abc", "rows": [{"_rev": 2}]}}})
    assert render("{{ steps.db.output._id }}-{{ steps.db.output.rows[0]['_rev'] }}", ctx) == (
        "abc-2"
    )


@pytest.mark.parametrize(
    ("steps", "field", "message"),
    [
        (
            [("a", {"u": "{{ steps.b.output.x }}"}, None), ("b", {}, None)],
            "steps[0].u",
            "step 'a' field 'u' refers to 'steps.b': step 'b' runs after step 'a'",
        ),
        (
            [("a", {}, None), ("b", {"json": {"id": "{{ steps.ghost.output }}"}}, None)],
            "steps[1].json.id",
            "step 'b' field 'json.id' refers to 'steps.ghost': there is no step 'ghost'",
        ),
        (
            [("a", {"x": ["ok", "{{ steps.a.output }}"]}, None)],
            "steps[0].x[1]",
            "step 'a' field 'x[1]' refers to 'steps.a': a step cannot read its own output",
        ),
        (
            [("a", {}, None), ("b", {}, "steps.c.output.ok"), ("c", {}, None)],
            "steps[1].when",
            "step 'b' field 'when' refers to 'steps.c': step 'c' runs after step 'b'",
        ),
        (
            [("a", {"x": "{{ secrets.TOKEN }}"}, None)],
            "steps[0].x",
            "refers to 'secrets.TOKEN': unknown name 'secrets'",
        ),
        (
            [("a", {}, None), ("b", {"x": {"y": "ok\n{{ steps.a.output }"}}, None)],
            "steps[1].x.y",
            "step 'b': template syntax error in field 'x.y', line 2",
        ),
    ],
)
def test_validate_rejects_bad_references(
    steps: list[tuple[str, dict[str, Any], str | None]], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_step_references(steps)
    assert caught.value.field == field
    assert message in caught.value.message


# --- SQL ------------------------------------------------------------------------------

MALICIOUS = "x'; DROP TABLE orders; --"


def test_sql_values_become_bound_parameters() -> None:
    ctx = context(trigger={"type": "manual", "params": {"name": MALICIOUS, "n": 2}})
    sql, params = render_sql(
        "SELECT * FROM orders WHERE name = {{ trigger.params.name }}"
        " AND n > {{ trigger.params.n }}",
        ctx,
        step_id="q",
    )
    assert sql == "SELECT * FROM orders WHERE name = :p0 AND n > :p1"
    assert params == {"p0": MALICIOUS, "p1": 2}
    assert MALICIOUS not in sql


def test_a_malicious_value_cannot_change_a_real_query(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "t.db")
    db.execute("CREATE TABLE orders (name TEXT)")
    db.execute("INSERT INTO orders VALUES ('a')")
    ctx = context(vars={"NAME": MALICIOUS})
    sql, params = render_sql("INSERT INTO orders (name) VALUES ({{ vars.NAME }})", ctx, step_id="q")
    db.execute(sql, params)
    rows = db.execute("SELECT name FROM orders ORDER BY rowid").fetchall()
    db.close()
    assert rows == [("a",), (MALICIOUS,)]


@pytest.mark.parametrize(
    ("paramstyle", "expected"),
    [
        ("named", "SELECT :p0, :p1 WHERE a LIKE 'x%' AND t = ' :x'"),
        ("qmark", "SELECT ?, ? WHERE a LIKE 'x%' AND t = ' :x'"),
        ("numeric", "SELECT :1, :2 WHERE a LIKE 'x%' AND t = ' :x'"),
        ("dollar", "SELECT $1, $2 WHERE a LIKE 'x%' AND t = ' :x'"),
        ("pyformat", "SELECT %(p0)s, %(p1)s WHERE a LIKE 'x%%' AND t = ' :x'"),
        ("format", "SELECT %s, %s WHERE a LIKE 'x%%' AND t = ' :x'"),
        ("sqlalchemy", "SELECT :p0, :p1 WHERE a LIKE 'x%' AND t = ' \\:x'"),
    ],
)
def test_sql_paramstyles(paramstyle: str, expected: str) -> None:
    compiled = compile_sql(
        "SELECT {{ vars.REGION }}, {{ steps.fetch.output.count }} WHERE a LIKE 'x%' AND t = ' :x'",
        step_id="q",
        paramstyle=paramstyle,
    )
    assert compiled.text == expected
    assert compiled.render(context()) == (expected, {"p0": "eu", "p1": 3})


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1 {% if vars.X %}, 2{% endif %}", "blocks are not allowed"),
        ("SELECT '{{ vars.REGION }}'", "inside a quoted string"),
        ('SELECT "{{ vars.REGION }}"', "inside a quoted identifier"),
        ("SELECT 1 -- {{ vars.REGION }}\n", "inside a line comment"),
        ("SELECT 1 /* {{ vars.REGION }} */", "inside a block comment"),
        ("SELECT $tag$ {{ vars.REGION }} $tag$", "inside a dollar-quoted string"),
        ("SELECT {{ vars.REGION ", "syntax error"),
        ("SELECT {{ vars.REGION + }}", "syntax error"),
    ],
)
def test_sql_refuses_anything_that_would_splice_text(sql: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        compile_sql(sql, step_id="q")


def test_sql_lexing_handles_escaped_quotes_and_closed_comments() -> None:
    sql, params = render_sql(
        "SELECT 'it''s', \"a\"\"b\" /* c */ -- d\n, $$ e $$, {{ vars.REGION }}",
        context(),
        step_id="q",
    )
    assert sql.endswith(", :p0") and params == {"p0": "eu"}


def test_sql_undefined_values_fail() -> None:
    with pytest.raises(TemplateError, match=r"undefined reference 'vars.NOPE' in field 'sql'"):
        render_sql("SELECT {{ vars.NOPE }}", context(), step_id="q")


# --- masking --------------------------------------------------------------------------


def test_mask_nested_values_keys_and_numbers() -> None:
    data = {
        "token tok-123": ["Bearer tok-123", ("tok-123", 5)],
        "pin": 98765,
        "ok": True,
        "none": None,
    }
    assert mask(data, ["tok-123", "98765"]) == {
        f"token {MASK}": [f"Bearer {MASK}", (MASK, 5)],
        "pin": MASK,
        "ok": True,
        "none": None,
    }


def test_mask_rules_short_overlapping_and_empty() -> None:
    assert mask("a-b", ["a", "", "ab"]) == "a-b"  # shorter than MIN_SECRET_LENGTH
    assert MIN_SECRET_LENGTH == 3
    # Overlapping secrets become one mask: the mask says nothing of their lengths.
    assert mask("xxabcdyy", ["abc", "bcd"]) == f"xx{MASK}yy"
    assert mask("abcabc", ["abc"]) == MASK
    assert mask("text", []) == "text"
    assert mask("****", ["***"]) == "****"  # part of the mask itself: ignored


@given(
    secrets=st.lists(st.text(min_size=MIN_SECRET_LENGTH, max_size=12), min_size=1, max_size=4),
    pieces=st.lists(st.text(max_size=12), min_size=1, max_size=6),
    data=st.data(),
)
@settings(max_examples=150, deadline=None)
def test_mask_never_leaves_a_secret_substring(
    secrets: list[str], pieces: list[str], data: st.DataObject
) -> None:
    usable = [s for s in secrets if s not in MASK]
    text = ""
    for piece in pieces:
        text += piece + data.draw(st.sampled_from(secrets))
    masked = mask({"k": [text, {text: text}]}, secrets)
    flat = [masked["k"][0], *masked["k"][1].keys(), *masked["k"][1].values()]
    for value in flat:
        for secret in usable:
            assert secret not in value


# --- properties -----------------------------------------------------------------------

# Dunder names are refused outright as Python internals (tested above), so they are not
# undefined references.
_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: not (name.startswith("__") and name.endswith("__"))
)


@given(name=_IDENT, step=_IDENT, key=_IDENT, prefix=st.text(alphabet="abc -:/", max_size=8))
@settings(max_examples=100, deadline=None)
def test_undefined_reference_never_renders(name: str, step: str, key: str, prefix: str) -> None:
    ctx = TemplateContext(
        vars={"other": "x"} if name != "other" else {}, steps={"known": {"output": {}}}
    )
    for template, reference in (
        (f"{prefix}{{{{ vars.{name} }}}}", f"vars.{name}"),
        (f"{{{{ vars.{name} }}}}", f"vars.{name}"),
        (f"{prefix}{{{{ steps.known.output.{key} }}}}", f"steps.known.output.{key}"),
    ):
        with pytest.raises(TemplateError) as caught:
            compile_config({"f": template}, step_id=step).render(ctx)
        assert caught.value.reference == reference
        assert f"step {step!r}" in str(caught.value)
    if step != "known":
        with pytest.raises(TemplateError) as caught:
            compile_config({"f": f"{{{{ steps.{step}.output }}}}"}, step_id="s").render(ctx)
        assert caught.value.reference == f"steps.{step}"


@given(text=st.text().filter(lambda t: "{" not in t))
@settings(max_examples=150, deadline=None)
def test_text_without_braces_renders_unchanged(text: str) -> None:
    compiled = compile_config({"f": text, "g": [text]}, step_id="s")
    assert compiled.render(context()) == {"f": text, "g": [text]}
    assert render_sql(text, context(), step_id="s") == (text, {})


@given(value=st.text())
@settings(max_examples=100, deadline=None)
def test_any_sql_value_is_only_ever_a_parameter(value: str) -> None:
    ctx = context(vars={"V": value})
    sql, params = render_sql("SELECT * FROM t WHERE a = {{ vars.V }}", ctx, step_id="q")
    assert sql == "SELECT * FROM t WHERE a = :p0"
    assert params == {"p0": value}


def test_sql_a_cast_after_a_value_keeps_the_placeholder_a_bind() -> None:
    """`{{ x }}::int` is PostgreSQL's cast; `:p0::int` would read as text, not a bind."""
    from sqlalchemy import text

    compiled = compile_sql("SELECT {{ a }}::int, {{ b }} ::date, '10:30'", step_id="q")
    assert compiled.text == "SELECT :p0 ::int, :p1 ::date, '10:30'"
    assert set(text(compiled.text).compile().params) == {"p0", "p1"}


def test_a_rendered_config_names_every_invalid_field_in_plain_words() -> None:
    class PortConfig(BaseModel):
        """A port and a host."""

        model_config = ConfigDict(extra="forbid")
        port: int
        host: str

        @field_validator("host")
        @classmethod
        def _no_spaces(cls, value: str) -> str:
            if " " in value:
                raise ValueError("must not contain spaces")
            return value

    class PortExecutor(Executor[PortConfig]):
        kind = "port"
        Config = PortConfig

        async def run(self, ctx: StepContext, config: PortConfig) -> dict[str, object]:
            return {}

    step = StepSpec(
        id="s",
        type="port",
        config={"port": "{{ trigger.data.port }}", "host": "{{ trigger.data.host }}"},
    )
    prepared = PreparedStep.of(step, PortExecutor)
    context = TemplateContext(trigger={"data": {"port": "eighty", "host": "a b"}})
    with pytest.raises(TemplateError) as caught:
        prepared.config(context)
    message = caught.value.message
    assert "rendered field 'port' is invalid" in message
    assert "rendered field 'host' is invalid: must not contain spaces" in message
    assert "Value error" not in message
