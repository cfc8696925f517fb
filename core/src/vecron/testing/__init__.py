"""Test helpers for vecron plugin authors: contract test classes and pytest fixtures.

The fixtures (``vecron_pm``, ``vecron_registry``, ``step_context_factory``) come from the
pytest plugin :mod:`vecron.testing.pytest_plugin`, loaded automatically. The names below
are imported on first use, because pytest imports this package in every test run and
the contracts need pytest-asyncio, which a project may not have.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vecron.testing.auth import AuthBackendContract as AuthBackendContract
    from vecron.testing.contracts import ExecutorContract as ExecutorContract
    from vecron.testing.contracts import TriggerContract as TriggerContract
    from vecron.testing.notifiers import NotifierContract as NotifierContract
    from vecron.testing.notifiers import sample_alert as sample_alert
    from vecron.testing.step_contexts import make_step_context as make_step_context

__all__ = [
    "AuthBackendContract",
    "ExecutorContract",
    "NotifierContract",
    "TriggerContract",
    "make_step_context",
    "sample_alert",
]

_HOMES = {
    "AuthBackendContract": ".auth",
    "ExecutorContract": ".contracts",
    "TriggerContract": ".contracts",
    "NotifierContract": ".notifiers",
    "sample_alert": ".notifiers",
    "make_step_context": ".step_contexts",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)
