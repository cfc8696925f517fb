"""Reading job documents: JSON or YAML in, a validated :class:`JobDefinition` out.

Steps and triggers are written inline (``{"id": "ping", "type": "http", "url": ...}``);
vecron's own keys are split off and the rest is validated against the executor's or
trigger's ``Config`` model, so an error points at ``steps[0].url``, not at a union.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml

from vecron.errors import (
    Problem,
    TemplateError,
    ValidationError,
    VecronError,
    problems_from_pydantic,
    within,
)
from vecron.jobs.limits import DocumentLimits
from vecron.models.definition import ALLOW_CONCURRENT, JobDefinition
from vecron.plugin.registry import STEP_KEYS, TRIGGER_KEYS, Registry

DEFAULT_LIMITS = DocumentLimits()


def load_json(text: str | bytes, source: str) -> Any:
    """JSON text to data.

    :raises ValidationError: not JSON (reason ``syntax``, naming the source, line and column).
    :raises RecursionError: nested deeper than the interpreter's stack.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            reason="syntax",
            params={"line": exc.lineno, "column": exc.colno},
        ) from None


def parse_text(
    text: str, *, source: str = "<input>", limits: DocumentLimits = DEFAULT_LIMITS
) -> Any:
    """JSON or YAML text to data; a syntax error names the source and line, a document
    over a limit names the limit."""
    stripped = text.lstrip("\ufeff")
    limits.check_text(stripped, source)
    try:
        if stripped.lstrip().startswith(("{", "[")):
            data = load_json(stripped, source)
        else:
            data = limits.load_yaml(stripped, source)
    except RecursionError:  # JSON nested deeper than the interpreter's stack
        limits.refuse(
            f"{source}: nested more than {limits.max_depth} levels deep",
            limits.max_depth,
            "job_max_depth",
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(
            f"{source}: invalid YAML{where}: {problem}",
            reason="syntax",
            params={"line": mark.line + 1, "column": mark.column + 1} if mark else {},
        ) from None
    limits.check_shape(data, source)
    return data


def check_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Ho_Chi_Minh)",
            field=field,
            reason="unknown-time-zone",
        ) from None


class _Findings:
    """The problems of one document, in the order found; one already reported at a
    field hides the ones inside it (a step that is not an object has no bad url)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, *problems: Problem) -> None:
        for problem in problems:
            if not any(seen.covers(problem) or seen == problem for seen in self.problems):
                self.problems.append(problem)

    def error(self, exc: VecronError) -> None:
        self.add(*exc.problems)


def field_inside(where: str, field: str | None) -> str:
    """``field`` (a path) as seen from the field ``where`` it is in."""
    if not field:
        return where
    return f"{where}{field}" if field.startswith("[") else f"{where}.{field}"


def _split(
    item: Any, reserved: frozenset[str], where: str, found: _Findings
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not isinstance(item, Mapping):
        found.add(Problem(message="must be an object", field=where, code="not-an-object"))
        return None
    if "type" not in item:  # split all the same: the step's own keys are still checked
        found.add(Problem(message="Field required", field=f"{where}.type", code="missing"))
    own = {k: v for k, v in item.items() if k in reserved}
    config = {k: v for k, v in item.items() if k not in reserved}
    if "config" in config and isinstance(config["config"], Mapping) and len(config) == 1:
        config = dict(config["config"])  # the normalised form nests the config
    return own, config


def _config_problems(
    model: type[pydantic.BaseModel],
    config: dict[str, Any],
    where: str,
    step_id: str = "-",
    sql_fields: frozenset[str] = frozenset(),
) -> list[Problem]:
    # What the user wrote is stored; the model is applied again, rendered, at run time.
    # A field holding a template can only be checked then: its errors are deferred.
    from vecron.templates import compile_config, compile_sql

    try:
        templated = compile_config(config, step_id=step_id).fields
    except TemplateError as exc:  # syntax, or reaching for Python internals
        # Which fields are templates is unknown now: checking the rest would mistake
        # them for bad values.
        return [_template_problem(exc, where)]
    problems: list[Problem] = []
    for name in sorted(sql_fields & config.keys()):
        if isinstance(config[name], str):
            try:
                compile_sql(config[name], step_id=step_id, field=name)
            except TemplateError as exc:
                problems.append(_template_problem(exc, where))
    try:
        model.model_validate(config)
    except pydantic.ValidationError as exc:
        for problem in problems_from_pydantic(exc.errors(include_url=False), data=config):
            if not any(_related(problem.field, path) for path in templated):
                problems.append(replace(problem, field=field_inside(where, problem.field)))
    return problems


def _template_problem(exc: TemplateError, where: str) -> Problem:
    return Problem(message=exc.message, field=field_inside(where, exc.config_field), code=exc.code)


def _related(field: str | None, templated: str) -> bool:
    """The error is at a templated field, inside one, or around one."""
    if field is None:
        return False
    return within(field, templated) or within(templated, field)


def _localize(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=tz)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
    return value


def parse_definition(
    data: Any,
    registry: Registry,
    *,
    default_timezone: str,
    limits: DocumentLimits = DEFAULT_LIMITS,
) -> JobDefinition:
    """Validate a job document against the core model and the installed plugins.

    :raises ValidationError: every problem found, each naming its field; or the one
        limit passed (a document over a limit is not read further).
    """
    if not isinstance(data, Mapping):
        raise ValidationError(
            "a job document must be an object with name, triggers and steps",
            reason="not-an-object",
        )
    limits.check_shape(data)
    limits.check_steps(data.get("steps"))
    found = _Findings()
    doc = dict(data)
    tz = _timezone(doc.setdefault("timezone", default_timezone), found)
    for key in ("start_at", "end_at"):
        if doc.get(key) is not None:
            doc[key] = _localize(doc[key], tz)
    doc["steps"] = _items(doc.get("steps"), "steps", registry, found)
    triggers = doc.get("triggers") or [{"type": "manual"}]
    doc["triggers"] = _items(triggers, "triggers", registry, found)
    definition = _validate(doc, found)
    _check_rules(doc, found)
    if definition is not None and not found.problems:
        from vecron.templates import validate_step_references

        try:
            validate_step_references((s.id, s.config, s.when) for s in definition.steps)
        except ValidationError as exc:
            found.error(exc)
    if found.problems or definition is None:
        raise ValidationError.of(found.problems, what="job document")
    return definition


def _timezone(name: Any, found: _Findings) -> ZoneInfo:
    """The job's zone; a bad one is reported and UTC stands in, so that times are still
    checked without a second, consequential problem."""
    if not isinstance(name, str):
        found.add(Problem(message="must be a string", field="timezone", code="string-type"))
        return ZoneInfo("UTC")
    try:
        return check_timezone(name)
    except ValidationError as exc:
        found.error(exc)
        return ZoneInfo("UTC")


def _items(items: Any, family: str, registry: Registry, found: _Findings) -> Any:
    """Steps or triggers with each config checked by its plugin's model; anything not a
    list is left for the job model to report."""
    if not isinstance(items, list):
        return items
    step = family == "steps"
    table: Mapping[str, Any] = registry.executors if step else registry.triggers
    out: list[Any] = []
    for index, item in enumerate(items):
        where = f"{family}[{index}]"
        parts = _split(item, STEP_KEYS if step else TRIGGER_KEYS, where, found)
        if parts is None:
            out.append(item)  # reported; the job model's view of it is covered
            continue
        own, config = parts
        what = "step type" if step else "trigger type"
        cls = _kind(table, own["type"], what, where, found) if "type" in own else None
        if cls is not None:
            found.add(
                *_config_problems(
                    cls.Config,
                    config,
                    where,
                    str(own.get("id", index)),
                    cls.sql_fields if step else frozenset(),
                )
            )
        out.append({**own, "config": config})
    return out


def _validate(doc: dict[str, Any], found: _Findings) -> JobDefinition | None:
    try:
        return JobDefinition.model_validate(doc)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
    found.add(*problems_from_pydantic(errors, data=doc))
    if any(tuple(e["loc"]) == (ALLOW_CONCURRENT,) for e in errors):
        # The shorthand is read before the fields, and its error stops the model there:
        # validated without it, the rest of the document is checked too.
        rest = {k: v for k, v in doc.items() if k != ALLOW_CONCURRENT}
        try:
            JobDefinition.model_validate(rest)
        except pydantic.ValidationError as exc:
            found.add(*problems_from_pydantic(exc.errors(include_url=False), data=rest))
    return None


def _kind(table: Mapping[str, Any], kind: Any, what: str, where: str, found: _Findings) -> Any:
    if isinstance(kind, str) and kind in table:
        return table[kind]
    installed = sorted(table)
    found.add(
        Problem(
            message=f"unknown {what} {kind!r}; installed: {', '.join(installed) or 'none'}",
            field=f"{where}.type",
            code=f"unknown-{what.replace(' ', '-')}",
            params={"installed": installed},
        )
    )
    return None


def _check_rules(doc: Mapping[str, Any], found: _Findings) -> None:
    """Rules over several fields, on what the user wrote: they hold whether or not the
    rest of the document is valid."""
    start, end = doc.get("start_at"), doc.get("end_at")
    if isinstance(start, datetime) and isinstance(end, datetime) and end <= start:
        found.add(Problem(message="must be after start_at", field="end_at", code="order"))
    _check_manual(doc, found)
    seen: set[str] = set()
    steps = doc.get("steps")  # ``true`` is the model's problem to report, not a crash
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        step_id = step.get("id") if isinstance(step, Mapping) else None
        if not isinstance(step_id, str):
            continue
        if step_id in seen:
            found.add(
                Problem(
                    message=f"duplicate step id {step_id!r}",
                    field=f"steps[{index}].id",
                    code="duplicate-step-id",
                )
            )
        seen.add(step_id)


def _check_manual(doc: Mapping[str, Any], found: _Findings) -> None:
    """``policy.allow_manual: false`` with a ``manual`` trigger (listed, or the default
    of a job that lists none) is a contradiction: nothing else would start the job."""
    policy = doc.get("policy")
    if not isinstance(policy, Mapping) or policy.get("allow_manual") is not False:
        return
    triggers = doc.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if isinstance(trigger, Mapping) and trigger.get("type") == "manual":
            found.add(
                Problem(
                    message=f"false contradicts triggers[{index}], a manual trigger (a job "
                    "that lists no triggers has one); remove one of them",
                    field="policy.allow_manual",
                    code="contradiction",
                )
            )
            return


def json_schema(registry: Registry) -> dict[str, Any]:
    """The JSON Schema of job documents for the installed executors and triggers."""
    schema = JobDefinition.model_json_schema()
    defs = schema.setdefault("$defs", {})

    def variants(
        table: Mapping[str, Any], common: dict[str, Any], prefix: str
    ) -> list[dict[str, Any]]:
        out = []
        for kind, cls in sorted(table.items()):
            sub = cls.Config.model_json_schema()
            defs.update(sub.pop("$defs", {}))
            props = {**common, **sub.get("properties", {}), "type": {"const": kind}}
            out.append(
                {
                    "title": f"{prefix} {kind}",
                    # The Config's docstring: the model that is the step's documentation.
                    "description": sub.get("description", ""),
                    "type": "object",
                    "properties": props,
                    "required": sorted(
                        {"type", *sub.get("required", []), *(["id"] if prefix == "step" else [])}
                    ),
                    "additionalProperties": False,
                }
            )
        return out

    step_common = {
        k: v for k, v in defs["StepSpec"]["properties"].items() if k not in ("config", "type")
    }
    schema["properties"]["steps"] = {
        "type": "array",
        "minItems": 1,
        "items": {"oneOf": variants(registry.executors, step_common, "step")},
    }
    schema["properties"]["triggers"] = {
        "type": "array",
        "items": {"oneOf": variants(registry.triggers, {}, "trigger")},
    }
    for name in ("StepSpec", "TriggerSpec"):
        defs.pop(name, None)
    schema["properties"]["timezone"]["description"] = "IANA time zone; default from settings"
    schema["required"] = [r for r in schema.get("required", []) if r != "timezone"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
