"""Acceptance 2: the route x role matrix, generated from the OpenAPI document.

For every operation of the document and every auth backend: without a token 401, with a
token whose roles lack the operation's ``x-permission`` 403, with one that has it (or any
signed-in caller, where ``x-permission`` is null) the documented success status. Public
operations succeed without a token. Each call is the operation's example
(tests/api/examples.py) against one world of objects per backend (tests/api/world.py).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from tests.api.callers import ADMIN_PASSWORD, CALLERS, ROLES, Callers, settings_for
from tests.api.examples import EXAMPLES
from tests.api.harness import PREFIX, Api, expect_problem, served
from tests.api.world import DbUsers, World, build_world
from vecron.plugin.manager import get_plugin_manager
from vecron_api.app import collect_routes
from vecron_api.openapi import build_document

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANONYMOUS = "anonymous"
FORGED = "forged-token"
METHODS = {"get", "put", "post", "delete", "patch"}


def document_operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, operation) of every operation of ``document``."""
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


@functools.cache
def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The document the app builds, read when the tests are collected (the routes of
    every installed plugin); the served one is checked to be the same below."""
    return document_operations(build_document(collect_routes(get_plugin_manager()).routes))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each backend's class gets one case per operation and caller: its roles, and
    callers with no token and with a forged one."""
    if "case" not in metafunc.fixturenames:
        return
    backend: str = metafunc.cls.backend  # type: ignore[union-attr]
    cases = []
    for operation_id, (_, _, op) in sorted(operations().items()):
        public = op["security"] == []
        for caller in [ANONYMOUS] if public else [ANONYMOUS, FORGED, *ROLES[backend]]:
            cases.append(pytest.param((operation_id, caller), id=f"{operation_id}-{caller}"))
    metafunc.parametrize("case", cases)


@dataclass
class ServedWorld:
    api: Api
    world: World
    callers: Callers


@pytest_asyncio.fixture(scope="class", loop_scope="module")
async def served_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServedWorld]:
    """The API on the class's backend, its callers and a world, for all of its cases."""
    backend: str = request.cls.backend
    home = tmp_path_factory.mktemp(f"matrix-{backend}")
    with pytest.MonkeyPatch.context() as patch:
        # The db backend's first admin gets this password when the app starts.
        patch.setenv("VECRON_ADMIN_PASSWORD", ADMIN_PASSWORD)
        async with (
            CALLERS[backend](home) as callers,
            served(settings_for(callers, home)) as api,
        ):
            await callers.prepare(api)
            world = await build_world(api.runtime)
            world.db = DbUsers(api, ADMIN_PASSWORD)
            yield ServedWorld(api, world, callers)


def expected(op: dict[str, Any], caller: str, callers: Callers) -> str:
    """``2xx``, ``401`` or ``403``: what ``caller`` must get from ``op``."""
    if op["security"] == []:
        return "2xx"
    if caller in (ANONYMOUS, FORGED):
        return "401"
    permission = op["x-permission"]
    if permission is None or permission in {p.value for p in callers.roles[caller]}:
        return "2xx"
    return "403"


class Matrix:
    """The matrix on one auth backend (``backend``, a key of tests/api/callers.CALLERS)."""

    backend: ClassVar[str]

    async def test_route_role(self, served_world: ServedWorld, case: tuple[str, str]) -> None:
        operation_id, caller = case
        method, path, op = operations()[operation_id]
        example = EXAMPLES.get(operation_id)
        assert example is not None, (
            f"operation {operation_id} has no example request: add one to tests/api/examples.py"
        )
        call = await example(served_world.world)
        options = call.options()
        if caller == FORGED:
            options["headers"]["Authorization"] = "Bearer eyJhbGciOiJub25lIn0.e30."
        elif caller != ANONYMOUS:
            token = await served_world.callers.token(caller)
            options["headers"]["Authorization"] = f"Bearer {token}"
        answer = await served_world.api.client.request(method, call.url(path), **options)
        want = expected(op, caller, served_world.callers)
        where = f"{method} {path} as {caller}"
        if want == "2xx":
            successes = {int(status) for status in op["responses"] if status.startswith("2")}
            assert answer.status in successes, f"{where}: {answer.status} {await answer.text()}"
            assert answer.content_type != "application/problem+json"
        else:
            problem = await expect_problem(answer, int(want))
            if want == "403":
                assert op["x-permission"] in problem["detail"], (where, problem)

    async def test_the_matrix_is_the_served_document(self, served_world: ServedWorld) -> None:
        """The operations collected above are the served document's, and each has an example."""
        answer = await served_world.api.client.get(f"{PREFIX}/openapi.json")
        served_ops = document_operations(await answer.json())
        assert set(served_ops) == set(operations())
        assert {k: (m, p) for k, (m, p, _) in served_ops.items()} == {
            k: (m, p) for k, (m, p, _) in operations().items()
        }
        missing = sorted(set(operations()) - set(EXAMPLES))
        assert not missing, f"operations without an example request: {missing}"
        stale = sorted(set(EXAMPLES) - set(operations()))
        assert not stale, f"examples of operations that no longer exist: {stale}"


class TestStatic(Matrix):
    backend = "static"


class TestDb(Matrix):
    backend = "db"


class TestKeycloak(Matrix):
    backend = "keycloak"
