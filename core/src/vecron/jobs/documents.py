"""Reading job documents: JSON or YAML in, a validated :class:`JobDefinition` out.

Steps and triggers are written inline (``{"id": "ping", "type": "http", "url": ...}``);
vecron's own keys are split off and the rest is validated against the executor's or
trigger's ``Config`` model, so an error points at ``steps[0].url``, not at a union.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml

from vecron.errors import ValidationError
from vecron.jobs.limits import DocumentLimits
from vecron.models.definition import JobDefinition, StepSpec, TriggerSpec
from vecron.plugin.registry import STEP_KEYS, TRIGGER_KEYS, Registry


def _loc(parts: Sequence[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def pydantic_error(
    exc: pydantic.ValidationError,
    prefix: Sequence[int | str] = (),
    errors: Sequence[Any] | None = None,
) -> ValidationError:
    """The first problem of a pydantic error as one line naming its field."""
    errors = list(errors) if errors is not None else exc.errors(include_url=False)
    first = errors[0]
    loc = [p for p in (*prefix, *first["loc"]) if p not in ("function-after", "function-before")]
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return ValidationError(f"{message}{more}", field=_loc(loc) or None)


DEFAULT_LIMITS = DocumentLimits()


def parse_text(
    text: str, *, source: str = "<input>", limits: DocumentLimits = DEFAULT_LIMITS
) -> Any:
    """JSON or YAML text to data; a syntax error names the source and line, a document
    over a limit names the limit."""
    stripped = text.lstrip("\ufeff")
    limits.check_text(stripped, source)
    try:
        if stripped.lstrip().startswith(("{", "[")):
            data = json.loads(stripped)
        else:
            data = limits.load_yaml(stripped, source)
    except RecursionError:  # JSON nested deeper than the interpreter's stack
        limits.refuse(
            f"{source}: nested more than {limits.max_depth} levels deep",
            limits.max_depth,
            "job_max_depth",
        )
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(f"{source}: invalid YAML{where}: {problem}") from None
    limits.check_shape(data, source)
    return data


def check_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Ho_Chi_Minh)", field=field
        ) from None


def _split(
    item: Any, reserved: frozenset[str], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise ValidationError("must be an object", field=where)
    if "type" not in item:
        raise ValidationError("missing `type`", field=where)
    own = {k: v for k, v in item.items() if k in reserved}
    config = {k: v for k, v in item.items() if k not in reserved}
    if "config" in config and isinstance(config["config"], Mapping) and len(config) == 1:
        config = dict(config["config"])  # the normalised form nests the config
    return own, config


def _validate_config(
    model: type[pydantic.BaseModel],
    config: dict[str, Any],
    where: list[int | str],
    step_id: str = "-",
    sql_fields: frozenset[str] = frozenset(),
) -> None:
    # What the user wrote is stored; the model is applied again, rendered, at run time.
    # A field holding a template can only be checked then: its errors are deferred.
    from vecron.errors import TemplateError
    from vecron.templates import compile_config, compile_sql

    try:
        templated = compile_config(config, step_id=step_id).fields
        for name in sql_fields & config.keys():
            if isinstance(config[name], str):
                compile_sql(config[name], step_id=step_id, field=name)
    except TemplateError as exc:  # syntax, or reaching for Python internals
        field = _loc([*where, exc.config_field]) if exc.config_field else _loc(where)
        raise ValidationError(exc.message, field=field) from None
    try:
        model.model_validate(config)
    except pydantic.ValidationError as exc:
        errors = [
            e
            for e in exc.errors(include_url=False)
            if not any(_under(e["loc"], path) for path in templated)
        ]
        if errors:
            raise pydantic_error(exc, where, errors) from None


def _under(loc: Sequence[int | str], path: str) -> bool:
    dotted = ".".join(str(part) for part in loc)
    return dotted == path or dotted.startswith(path + ".") or path.startswith(dotted + ".")


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

    :raises ValidationError: naming the first bad field, or the limit passed.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("a job document must be an object with name, triggers and steps")
    limits.check_shape(data)
    limits.check_steps(data.get("steps"))
    doc = dict(data)
    tz_name = doc.setdefault("timezone", default_timezone)
    if not isinstance(tz_name, str):
        raise ValidationError("must be a string", field="timezone")
    tz = check_timezone(tz_name)
    for key in ("start_at", "end_at"):
        if doc.get(key) is not None:
            doc[key] = _localize(doc[key], tz)

    steps = []
    for index, item in enumerate(doc.get("steps") or []):
        own, config = _split(item, STEP_KEYS, f"steps[{index}]")
        cls = _kind(registry.executors, own["type"], "step type", f"steps[{index}].type")
        _validate_config(
            cls.Config, config, ["steps", index], str(own.get("id", index)), cls.sql_fields
        )
        steps.append({**own, "config": config})
    triggers = []
    for index, item in enumerate(doc.get("triggers") or [{"type": "manual"}]):
        own, config = _split(item, TRIGGER_KEYS, f"triggers[{index}]")
        tcls = _kind(registry.triggers, own["type"], "trigger type", f"triggers[{index}].type")
        _validate_config(tcls.Config, config, ["triggers", index])
        triggers.append({**own, "config": config})
    doc["steps"], doc["triggers"] = steps, triggers
    try:
        definition = JobDefinition.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise pydantic_error(exc) from None
    _check_rules(definition)
    from vecron.templates import validate_step_references

    validate_step_references((s.id, s.config, s.when) for s in definition.steps)
    return definition


def _kind(table: Mapping[str, Any], kind: Any, what: str, field: str) -> Any:
    if not isinstance(kind, str) or kind not in table:
        installed = ", ".join(sorted(table)) or "none"
        raise ValidationError(f"unknown {what} {kind!r}; installed: {installed}", field=field)
    return table[kind]


def _check_rules(definition: JobDefinition) -> None:
    if definition.start_at and definition.end_at and definition.end_at <= definition.start_at:
        raise ValidationError("must be after start_at", field="end_at")
    seen: set[str] = set()
    for index, step in enumerate(definition.steps):
        if step.id in seen:
            raise ValidationError(f"duplicate step id {step.id!r}", field=f"steps[{index}].id")
        seen.add(step.id)


def step_config(registry: Registry, step: StepSpec) -> Any:
    """The executor's Config instance for a stored step."""
    return registry.executor(step.type).Config.model_validate(step.config)


def trigger_config(registry: Registry, trigger: TriggerSpec) -> Any:
    return registry.trigger(trigger.type).Config.model_validate(trigger.config)


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
                    "description": (cls.__doc__ or "").strip().splitlines()[0]
                    if cls.__doc__
                    else "",
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
