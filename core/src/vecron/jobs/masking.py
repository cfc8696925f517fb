"""Secret values never leave vecron in clear: config fields typed ``SecretStr`` are masked."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from vecron.errors import field_path
from vecron.models.definition import JobDefinition
from vecron.plugin.registry import Registry
from vecron.secrets.redaction import MASK as MASK

#: A whole field that is one template expression names a variable, it holds no secret.
_REFERENCE = re.compile(r"^\s*\{\{[^{}]*\}\}\s*$")

#: What stands in for one secret value: given its field path (``auth.password``) and
#: the value, the replacement.
Replacement = Callable[[str, str], Any]


def masked_config(model: Any, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as written, with every secret field (nested ones too) masked."""
    return replaced_secrets(model, config, lambda path, value: MASK)


def replaced_secrets(model: Any, config: dict[str, Any], replace: Replacement) -> dict[str, Any]:
    """``config`` as written, with every secret field (nested ones too) replaced by
    ``replace(path, value)``.

    Walks the model's JSON Schema rather than validating: a stored config may hold
    templates (``{{ vars.URL }}``) that only validate once rendered.
    """
    schema = _schema_of(model)
    masked = _mask(config, schema, schema.get("$defs", {}), (), replace)
    return masked if isinstance(masked, dict) else {}


@functools.lru_cache(maxsize=256)
def _schema_of(model: Any) -> dict[str, Any]:
    """A config model's JSON Schema, made once per model: making it took 7-20 ms, paid
    by every job shown and every webhook delivery. Read only, never changed."""
    schema: dict[str, Any] = model.model_json_schema()
    return schema


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(defs.get(ref.removeprefix("#/$defs/"), {}), defs)
    return schema


def _branches(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    schema = _resolve(schema, defs)
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return [b for option in options for b in _branches(option, defs)]
    return [schema]


def _fits(branch: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    properties = branch.get("properties", {})
    for key, prop in properties.items():
        if "const" in prop and value.get(key) != prop["const"]:
            return False
    return branch.get("additionalProperties") is not False or set(value) <= set(properties)


def _mask(
    value: Any,
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    path: tuple[int | str, ...],
    replace: Replacement,
) -> Any:
    branches = _branches(schema, defs)
    if isinstance(value, str):
        secret = any(b.get("format") == "password" for b in branches)
        return replace(field_path(path), value) if secret and not _REFERENCE.match(value) else value
    if isinstance(value, Mapping):
        fitting = [b for b in branches if b.get("type") == "object" or "properties" in b]
        branch = next((b for b in fitting if _fits(b, value)), fitting[0] if fitting else {})
        properties = branch.get("properties", {})
        extra = branch.get("additionalProperties")
        return {
            key: _mask(
                item,
                properties.get(key, extra if isinstance(extra, dict) else {}),
                defs,
                (*path, key),
                replace,
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        items: Mapping[str, Any] = next(
            (b["items"] for b in branches if isinstance(b.get("items"), dict)), {}
        )
        return [_mask(item, items, defs, (*path, i), replace) for i, item in enumerate(value)]
    return value


def masked_document(definition: JobDefinition, registry: Registry) -> dict[str, Any]:
    """The document with every secret config field masked."""
    return replaced_document(definition, registry, lambda path, value: MASK)


def replaced_document(
    definition: JobDefinition, registry: Registry, replace: Replacement
) -> dict[str, Any]:
    """The document with every secret config field replaced by ``replace(path, value)``,
    ``path`` from the document's top: ``steps.fetch.auth.password`` for a step (by its
    id, stable when steps move), ``triggers[0].token`` for a trigger."""

    def under(prefix: str) -> Replacement:
        return lambda path, value: replace(f"{prefix}.{path}", value)

    masked_steps = [
        step.model_copy(
            update={
                "config": replaced_secrets(
                    registry.executor(step.type).Config, step.config, under(f"steps.{step.id}")
                )
            }
        )
        for step in definition.steps
    ]
    masked_triggers = [
        t.model_copy(
            update={
                "config": replaced_secrets(
                    registry.trigger(t.type).Config, t.config, under(f"triggers[{index}]")
                )
            }
        )
        for index, t in enumerate(definition.triggers)
    ]
    return definition.model_copy(
        update={"steps": masked_steps, "triggers": masked_triggers}
    ).document()
