"""The API's hooks: it adds its hook spec to core's manager, gives ``vecron up`` its app,
and serves and documents the routes plugins add."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest
from aiohttp import web
from pydantic import BaseModel

from tests.api.harness import api_settings, expect_problem, served, with_static_tokens
from vecron import Permission, Runtime, hookimpl
from vecron.cli.serve import web_app
from vecron.plugin.manager import get_plugin_manager
from vecron_api import Route, RouteRegistry, principal, reply


def test_hook_vecron_add_hookspecs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's spec is there as soon as it is installed, so a plugin's routes pass the
    manager's check; without the API a plugin adding routes is refused by name."""
    assert get_plugin_manager().hook.vecron_register_routes.spec is not None

    class AddsRoutes:
        @hookimpl
        def vecron_register_routes(self, register: RouteRegistry) -> None:
            raise AssertionError("not called here")

    monkeypatch.setenv("VECRON_DISABLE_PLUGINS", "api")
    pm = get_plugin_manager()
    caller = getattr(pm.hook, "vecron_register_routes", None)
    assert caller is None or caller.spec is None
    pm.register(AddsRoutes(), name="adds-routes")
    with pytest.raises(pluggy.PluginValidationError, match="vecron_register_routes"):
        pm.check_pending()


async def test_hook_vecron_web_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vecron up` serves what the hook gives (the API with the probes); with the API
    left out, the probes alone."""
    pm = get_plugin_manager()
    with_static_tokens(pm)
    async with Runtime(api_settings(tmp_path), pm=pm) as rt:
        app = web_app(rt)
        paths = {r.canonical for r in app.router.resources()}
        assert {"/api/v1/openapi.json", "/api/v1/jobs", "/healthz", "/readyz", "/metrics"} <= paths
    monkeypatch.setenv("VECRON_DISABLE_PLUGINS", "api")
    async with Runtime(api_settings(tmp_path / "bare", auth_backends=())) as rt:
        app = web_app(rt)
        assert {r.canonical for r in app.router.resources()} == {"/healthz", "/readyz", "/metrics"}


class Greeting(BaseModel):
    text: str


async def greet(request: web.Request) -> web.Response:
    return reply(Greeting(text=f"hello {principal(request).subject}"))


class GreetingPlugin:
    @hookimpl
    def vecron_register_routes(self, register: RouteRegistry) -> None:
        register.add(
            Route(
                method="GET",
                path="/greeting",
                handler=greet,
                operation_id="getGreeting",
                summary="A plugin's route",
                tag="greeting",
                permission=Permission.JOB_READ,
                response=Greeting,
            )
        )


async def test_hook_vecron_register_routes(tmp_path: Path) -> None:
    """A plugin's route is served behind authentication and documented with its
    permission and response schema."""

    def plugins(pm: pluggy.PluginManager) -> None:
        with_static_tokens(pm)
        pm.register(GreetingPlugin(), name="greeting")

    async with served(api_settings(tmp_path), plugins=plugins) as api:
        answer = await api.client.get("/api/v1/greeting", headers=api.auth())
        assert answer.status == 200
        assert await answer.json() == {"text": "hello ada"}
        await expect_problem(await api.client.get("/api/v1/greeting"), 401)
        document = await (await api.client.get("/api/v1/openapi.json")).json()
        operation = document["paths"]["/api/v1/greeting"]["get"]
        assert operation["x-permission"] == "job:read"
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Greeting"
        }


async def test_a_route_taken_twice_names_both_plugins(tmp_path: Path) -> None:
    class Twice(GreetingPlugin):
        pass

    def plugins(pm: pluggy.PluginManager) -> None:
        with_static_tokens(pm)
        pm.register(GreetingPlugin(), name="greeting")
        pm.register(Twice(), name="greeting-again")

    from vecron import PluginError

    with pytest.raises(PluginError, match="GET /api/v1/greeting is already added by greeting"):
        async with served(api_settings(tmp_path), plugins=plugins):
            pass
