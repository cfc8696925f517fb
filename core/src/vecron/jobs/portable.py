"""Portable job files (S7.3): the secret placeholders of an export and filling them in.

An export holds no secret value. Each one is replaced by a placeholder object naming
what must be supplied at import, ``{"$secret": "nightly/steps.fetch.auth.password"}``:
the job's name as exported, a ``/`` (never in a job name), then where the secret was —
``steps.<step id>.<field>`` or ``triggers[<n>].<field>`` for a config field,
``vars.<NAME>`` for a secret variable of the job. The name stays the same when the job
is imported under another name, so one secrets file serves every import of an export.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vecron.models.definition import JobDefinition
from vecron.plugin.registry import Registry

#: The export format this vecron writes; it reads this one and every older one.
FORMAT_VERSION = 1
#: The one key of a placeholder object.
SECRET_KEY = "$secret"


def placeholder_name(job: str, where: str) -> str:
    """``job/where``: the name the user supplies the secret under."""
    return f"{job}/{where}"


def placeholder(name: str) -> dict[str, str]:
    return {SECRET_KEY: name}


def placeholder_of(value: Any) -> str | None:
    """The name a placeholder object stands for; None for any other value."""
    if isinstance(value, Mapping) and set(value) == {SECRET_KEY}:
        name = value[SECRET_KEY]
        return name if isinstance(name, str) else None
    return None


def exported_document(
    definition: JobDefinition, registry: Registry, names: list[str]
) -> dict[str, Any]:
    """The job's document with every secret config field a placeholder; each
    placeholder's name is appended to ``names``."""
    from vecron.jobs.masking import replaced_document

    def stand_in(path: str, value: str) -> dict[str, str]:
        name = placeholder_name(definition.name, path)
        names.append(name)
        return placeholder(name)

    return replaced_document(definition, registry, stand_in)


def placeholders_in(data: Any) -> list[str]:
    """Every placeholder name in ``data``, in document order."""
    found: list[str] = []

    def walk(value: Any) -> None:
        name = placeholder_of(value)
        if name is not None:
            found.append(name)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return found


def filled(data: Any, secrets: Mapping[str, str]) -> Any:
    """``data`` with every placeholder whose name ``secrets`` holds replaced by its
    value; the others are left as they are (:func:`placeholders_in` finds them)."""
    name = placeholder_of(data)
    if name is not None:
        return secrets.get(name, data)
    if isinstance(data, Mapping):
        return {key: filled(item, secrets) for key, item in data.items()}
    if isinstance(data, list):
        return [filled(item, secrets) for item in data]
    return data
