"""Limits on job documents: what a careless or hostile document may cost to read.

A YAML document of a few hundred bytes can expand, through aliases, into billions of
values ("billion laughs"); a deep nesting overflows Python's stack; a job with thousands
of steps or a description of megabytes costs time and memory in every process that
loads it. Each limit is a setting (``job_max_*``), checked before anything is expanded,
and a document over one is refused with one line that names the limit and its setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import yaml

from vecron.errors import ValidationError


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentLimits:
    """The limits, defaults generous for any hand-written or generated business job."""

    #: Bytes of one document's text (a file, a request body).
    max_bytes: int = 1024 * 1024
    #: Steps in one job.
    max_steps: int = 200
    #: Nesting of objects and lists, counted from the document's top.
    max_depth: int = 32
    #: Values in one document once aliases are expanded (every string, number, item).
    max_values: int = 100_000
    #: YAML aliases (``*name``) in one text.
    max_yaml_aliases: int = 100

    def refuse(self, what: str, limit: int, setting: str, field: str | None = None) -> NoReturn:
        raise ValidationError(
            f"{what}; the limit is {limit:,} (setting {setting})",
            field=field,
            reason="limit",
            params={"limit": limit, "setting": setting},
        )

    def check_text(self, text: str, source: str) -> None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            self.refuse(f"{source}: document is {size:,} bytes", self.max_bytes, "job_max_bytes")

    def check_shape(self, data: Any, source: str = "document") -> None:
        """Walk ``data`` once, stopping as soon as a limit is passed: the cost is bounded
        by the limits, whatever ``data`` would expand to."""
        values = 0
        stack: list[tuple[Any, int]] = [(data, 0)]
        while stack:
            value, depth = stack.pop()
            values += 1
            if values > self.max_values:
                self.refuse(
                    f"{source}: more than {self.max_values:,} values once aliases are expanded",
                    self.max_values,
                    "job_max_values",
                )
            if isinstance(value, Mapping | list | tuple):
                if depth >= self.max_depth:
                    self.refuse(
                        f"{source}: nested more than {self.max_depth} levels deep",
                        self.max_depth,
                        "job_max_depth",
                    )
                items = value.values() if isinstance(value, Mapping) else value
                if isinstance(value, Mapping):
                    values += len(value)  # keys count too
                stack.extend((item, depth + 1) for item in items)

    def check_steps(self, steps: Any) -> None:
        if isinstance(steps, list) and len(steps) > self.max_steps:
            self.refuse(
                f"job has {len(steps):,} steps", self.max_steps, "job_max_steps", field="steps"
            )

    def load_yaml(self, text: str, source: str) -> Any:
        """``yaml.safe_load`` with aliases counted while the text is composed, before any
        value is built."""
        loader = _CountingLoader(text, self, source)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()


class _CountingLoader(yaml.SafeLoader):
    def __init__(self, text: str, limits: DocumentLimits, source: str) -> None:
        super().__init__(text)
        self._limits = limits
        self._source = source
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.max_yaml_aliases:
                self._limits.refuse(
                    f"{self._source}: more than {self._limits.max_yaml_aliases} YAML aliases",
                    self._limits.max_yaml_aliases,
                    "job_max_yaml_aliases",
                )
        # Composing recurses once per level: refuse before Python's stack runs out.
        self._depth += 1
        try:
            if self._depth > self._limits.max_depth + 1:
                self._limits.refuse(
                    f"{self._source}: nested more than {self._limits.max_depth} levels deep",
                    self._limits.max_depth,
                    "job_max_depth",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
