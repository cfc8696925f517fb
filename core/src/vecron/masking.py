"""Secret values never leave vecron in clear: config fields typed ``SecretStr`` are masked."""

from __future__ import annotations

from typing import Any

from .models.definition import JobDefinition
from .registry import Registry

MASK = "**********"


def masked_config(model: Any, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as written, with every secret field (nested ones too) masked."""
    dumped = model.model_validate(config).model_dump(mode="json", exclude_unset=True)
    return dumped if isinstance(dumped, dict) else {}


def masked_document(definition: JobDefinition, registry: Registry) -> dict[str, Any]:
    masked_steps = [
        step.model_copy(
            update={"config": masked_config(registry.executor(step.type).Config, step.config)}
        )
        for step in definition.steps
    ]
    masked_triggers = [
        t.model_copy(update={"config": masked_config(registry.trigger(t.type).Config, t.config)})
        for t in definition.triggers
    ]
    return definition.model_copy(
        update={"steps": masked_steps, "triggers": masked_triggers}
    ).document()
