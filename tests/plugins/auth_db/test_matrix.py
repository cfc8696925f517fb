"""The route x role matrix of the backend's own operations, with callers signed in
through the backend itself: without a token 401, a role lacking ``user:admin`` 403, an
admin (or anyone, on the public session routes) 2xx. The examples are those the API's
matrix uses (tests/plugins/auth_db/matrix.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.api.harness import PREFIX, Api, expect_problem
from tests.api.world import World
from vecron import LOCAL_OPERATOR
from vecron_api import Route
from vecron_auth_db.routes import routes
from vecron_auth_db.views import UserUpdate

from .matrix import EXAMPLES, SESSION_PASSWORD, new_user, services
from .test_routes import api as api
from .test_routes import login

CALLERS = ("anonymous", "forged", "admin", "operator", "viewer", "nobody")


@pytest_asyncio.fixture
async def signed_in(api: Api) -> AsyncIterator[dict[str, str]]:
    """A bearer token per caller: users holding exactly that role (``nobody``: none)."""
    world = World(api.runtime)
    tokens = {"forged": "eyJhbGciOiJub25lIn0.e30."}
    for caller, roles in (
        ("admin", ["admin"]),
        ("operator", ["operator"]),
        ("viewer", ["viewer"]),
        ("nobody", []),
    ):
        name = await new_user(world, f"matrix-{caller}")
        await services(world).users.update(LOCAL_OPERATOR, name, UserUpdate(roles=roles))
        tokens[caller] = (await login(api, name, SESSION_PASSWORD))["access_token"]
    yield tokens


@pytest.mark.parametrize("route", routes(), ids=lambda r: r.operation_id)
async def test_route_role(api: Api, signed_in: dict[str, str], route: Route) -> None:
    world = World(api.runtime)
    for caller in CALLERS:
        call = await EXAMPLES[route.operation_id](world)
        options = call.options()
        if caller != "anonymous":
            options["headers"]["Authorization"] = f"Bearer {signed_in[caller]}"
        answer = await api.client.request(route.method, call.url(PREFIX + route.path), **options)
        where = f"{route.method} {route.path} as {caller}"
        if route.public or caller == "admin":
            assert answer.status == route.status, f"{where}: {answer.status} {await answer.text()}"
        elif caller in ("anonymous", "forged"):
            await expect_problem(answer, 401)
        else:
            problem = await expect_problem(answer, 403)
            assert "user:admin" in problem["detail"], where


def test_every_operation_has_an_example() -> None:
    assert set(EXAMPLES) == {route.operation_id for route in routes()}
