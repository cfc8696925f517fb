"""The ``vecron`` pytest plugin (entry point ``pytest11``): fixtures for plugin tests.

pytest loads this module in every run of every project where vecron-core is installed,
so it imports only pytest at module level; vecron's machinery is imported in fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pluggy

    from vecron.plugin.executor import StepContext
    from vecron.plugin.registry import Registry


def pytest_configure(config: pytest.Config) -> None:
    # Plain asserts in the contract classes should explain themselves like test asserts.
    pytest.register_assert_rewrite("vecron.testing.contracts")


@pytest.fixture
def vecron_pm() -> pluggy.PluginManager:
    """A fresh plugin manager with only core's built-in plugins (no entry points)."""
    from vecron.plugin.manager import get_plugin_manager

    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def vecron_registry() -> Registry:
    """The registry of every installed plugin, as a worker would build it."""
    from vecron.plugin.manager import build_registry, get_plugin_manager

    return build_registry(get_plugin_manager())


@pytest.fixture
def step_context_factory() -> Callable[..., StepContext]:
    """``factory(**overrides)``: a StepContext with test defaults (see make_step_context)."""
    from vecron.testing.step_contexts import make_step_context

    def factory(**overrides: Any) -> StepContext:
        return make_step_context(**overrides)

    return factory
