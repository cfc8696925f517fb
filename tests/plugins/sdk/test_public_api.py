"""The public API: ``vecron`` offers every name plugins use, loads them on first use, and
``import vecron`` alone loads nothing else."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import vecron

INIT = Path(vecron.__file__)


def type_checking_imports() -> dict[str, str]:
    """``{name: module}`` of the imports under ``if TYPE_CHECKING:`` in vecron/__init__.py."""
    tree = ast.parse(INIT.read_text("utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name} is re-exported under another name"
            found[alias.name] = node.module
    return found


def test_the_names_for_type_checkers_are_the_names_served() -> None:
    assert type_checking_imports() == vecron._HOMES
    assert sorted(vecron.__all__) == sorted(vecron._HOMES)


@pytest.mark.parametrize("name", sorted(vecron._HOMES))
def test_every_public_name_is_the_object_of_its_home(name: str) -> None:
    home = importlib.import_module(vecron._HOMES[name])
    assert getattr(vecron, name) is getattr(home, name)
    assert name in dir(vecron)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = vecron.Nothing  # type: ignore[attr-defined]


def loaded_after(code: str) -> list[str]:
    """vecron and pydantic modules loaded by ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('vecron', 'pydantic', 'structlog', 'jinja2', 'sqlalchemy'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_import_vecron_loads_nothing_else() -> None:
    assert loaded_after("import vecron") == ["vecron"]


def test_a_plugin_import_loads_only_what_it_names() -> None:
    loaded = loaded_after("from vecron import FinalError, hookimpl")
    assert "vecron.errors" in loaded and "vecron.plugin.hookspecs" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("pydantic", "sqlalchemy", "jinja2")]
