"""What a statement gives back, shaped as the step's output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vecron import json_safe


@dataclass(frozen=True, slots=True)
class Outcome:
    """One statement's result: rows read (up to the cap plus one), or rows affected."""

    columns: list[str]
    rows: Sequence[Sequence[Any]]
    returns_rows: bool
    affected: int = 0


def unique_names(columns: Sequence[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2``…), so no value is lost in a row's dict."""
    names: list[str] = []
    taken: set[str] = set()
    for column in columns:
        name, number = str(column), 1
        while name in taken:
            number += 1
            name = f"{column}_{number}"
        taken.add(name)
        names.append(name)
    return names


def table(outcome: Outcome, max_rows: int) -> dict[str, Any]:
    """``{columns, rows, row_count, truncated}``: at most ``max_rows`` rows, JSON-safe."""
    names = unique_names(outcome.columns)
    kept = outcome.rows[:max_rows]
    return {
        "columns": names,
        "rows": [
            {name: json_safe(value) for name, value in zip(names, row, strict=True)} for row in kept
        ],
        "row_count": len(kept),
        "truncated": len(outcome.rows) > max_rows,
    }


def affected(count: int) -> dict[str, Any]:
    """The output of statements that return no rows."""
    return {"columns": [], "rows": [], "row_count": count, "truncated": False}
