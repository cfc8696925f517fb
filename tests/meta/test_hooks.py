"""Every hook is documented with its exact signature and has a test of its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

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
