"""Every hook is documented with its exact signature and has a test of its own; every
event kind is documented with its class and exactly its fields."""

from __future__ import annotations

import inspect
import re
import types
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

import vecron
from vecron import events
from vecron.events import EventKind
from vecron.events.kinds import EVENT_CLASSES
from vecron.plugin import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("vecron_"))


def signature(name: str) -> str:
    fn = getattr(hookspecs, name)
    params = ", ".join(
        f"{p.name}: {p.annotation}" for p in inspect.signature(fn).parameters.values()
    )
    return f"def {name}({params}) -> {inspect.signature(fn).return_annotation}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_its_signature(name: str) -> None:
    doc = (ROOT / "docs" / "plugin-hooks.md").read_text()
    assert f"## {name}\n" in doc
    assert signature(name) in doc


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name: str) -> None:
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_{name}\b", tests), f"write a test named test_hook_{name}"


# -- the typed events of vecron_execution_event -------------------------------------

EVENT_HEADING = re.compile(r"^#### `(?P<kind>[^`]+)` — `(?P<cls>\w+)`$", re.MULTILINE)
FIELD_ROW = re.compile(r"^\| `(?P<field>\w+)` \| (?P<type>[^|]+?) \|", re.MULTILINE)


def documented_events() -> dict[str, tuple[str, dict[str, str]]]:
    """kind → (class name, {field: type}) as docs/plugin-hooks.md lists them."""
    doc = (ROOT / "docs" / "plugin-hooks.md").read_text()
    headings = list(EVENT_HEADING.finditer(doc))
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        section = doc[heading.end() : following.start() if following else len(doc)]
        section = section.split("\n## ")[0]  # a later hook's section is not this event's
        fields = {row["field"]: row["type"] for row in FIELD_ROW.finditer(section)}
        assert heading["kind"] not in found, f"{heading['kind']} is documented twice"
        found[heading["kind"]] = (heading["cls"], fields)
    return found


def type_in_docs(annotation: Any) -> str:
    """How the page writes a field's JSON type."""
    if get_origin(annotation) is Literal:
        return " or ".join(f'`"{value.value}"`' for value in get_args(annotation))
    if isinstance(annotation, types.UnionType):
        return " or ".join(type_in_docs(arg) for arg in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        values = [f"`{member.value}`" for member in annotation]
        return ", ".join(values[:-1]) + f" or {values[-1]}"
    names = {str: "string", int: "integer", float: "number", datetime: "timestamp"}
    return names.get(annotation, "null" if annotation is type(None) else repr(annotation))


def test_every_event_kind_is_documented_and_nothing_else() -> None:
    assert sorted(documented_events()) == sorted(kind.value for kind in EventKind)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_event_is_documented_with_its_class_and_every_field(cls: type[BaseModel]) -> None:
    kind = cls.model_fields["kind"].default.value
    name, fields = documented_events()[kind]
    assert name == cls.__name__
    assert getattr(vecron, name) is getattr(events, name) is cls  # importable as documented
    expected = {field: type_in_docs(info.annotation) for field, info in cls.model_fields.items()}
    assert fields == expected
