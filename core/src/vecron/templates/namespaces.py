"""What a template can read: the four namespaces the worker fills before each step (S2.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateContext:
    """The data one step's templates are rendered against.

    Values should be JSON data (what the persisted Job Context holds after a resume);
    datetimes are accepted and render as ISO 8601 in text.

    - ``vars``: variable name → value, job-scoped already merged over global.
    - ``steps``: step id → ``{"output": {...}, "status": "succeeded" | "failed" |
      "skipped", ...}`` for every step that ran (or was skipped) before this one; any other
      per-step metadata (``started_at``, ``attempt``...) is readable too.
    - ``trigger``: ``{"type": "cron", "fire_time": ...}`` for scheduled fires,
      ``{"type": "manual", "params": {...}, "by": "alice"}`` for manual runs,
      ``{"type": "webhook", "payload": ...}`` for webhooks (also readable as ``webhook``).
    - ``execution``: ``{"id", "job", "scheduled_at", "attempt", ...}``.
    - ``secrets``: values masked out of any error message a render raises.
    """

    vars: Mapping[str, Any] = field(default_factory=_empty)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=_empty)
    trigger: Mapping[str, Any] = field(default_factory=_empty)
    execution: Mapping[str, Any] = field(default_factory=_empty)
    secrets: frozenset[str] = frozenset()

    def namespaces(self) -> dict[str, Any]:
        """The root names templates see."""
        roots: dict[str, Any] = {
            "vars": self.vars,
            "steps": self.steps,
            "trigger": self.trigger,
            "execution": self.execution,
        }
        # The spec's `{{ webhook.payload... }}` spelling, only when a webhook fired.
        if self.trigger.get("type") == "webhook":
            roots["webhook"] = self.trigger
        return roots
