"""The secrets wing imports only the standard library, ``cryptography`` and
``vecron.errors`` (issue #10, scope 6).

import-linter checks the vecron side (``pyproject.toml``: a forbidden contract, indirect
imports included) but can only forbid what it is told: this test checks that its list
names every top-level vecron module but the two allowed, and that the wing's third-party
imports are ``cryptography`` alone, which import-linter does not see.
"""

from __future__ import annotations

import ast
import pkgutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import vecron
import vecron.secrets

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "vecron.secrets imports no vecron module but vecron.errors"
ALLOWED_VECRON = {"vecron.errors"}
ALLOWED_THIRD_PARTY = {"cryptography"}


def _contract(name: str) -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    [found] = [contract for contract in contracts if contract["name"] == name]
    return dict(found)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the wing
                found.add("vecron.secrets")
            elif node.module is not None:
                found.add(node.module)
    return found


def test_the_contract_forbids_every_other_top_level_module() -> None:
    contract = _contract(CONTRACT)
    assert contract["type"] == "forbidden"
    assert contract["source_modules"] == ["vecron.secrets"]
    assert not contract.get("allow_indirect_imports", False)
    assert "ignore_imports" not in contract
    top_level = {f"vecron.{info.name}" for info in pkgutil.iter_modules(vecron.__path__)}
    assert set(contract["forbidden_modules"]) == top_level - ALLOWED_VECRON - {"vecron.secrets"}


def test_the_wing_imports_only_the_standard_library_cryptography_and_errors() -> None:
    files = sorted(Path(vecron.secrets.__file__).parent.rglob("*.py"))
    assert {path.stem for path in files} >= {"__init__", "box", "redaction", "spellings"}
    for path in files:
        for module in _imports(path):
            top = module.partition(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or top == "__future__"
                or top in ALLOWED_THIRD_PARTY
                or module in ALLOWED_VECRON
                or module == "vecron.secrets"
                or module.startswith("vecron.secrets.")
            )
            assert allowed, f"{path.name} imports {module}"


def test_telemetry_and_backends_are_kept_from_the_plugin_wing() -> None:
    contract = _contract("telemetry and backends do not import the plugin wing")
    assert contract["forbidden_modules"] == ["vecron.plugin"]
    assert {"vecron.telemetry", "vecron.queue"} <= set(contract["source_modules"])
    assert not contract.get("allow_indirect_imports", False)
