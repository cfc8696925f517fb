"""The API as a vecron plugin: its hook specs, its routes, ``vecron api`` and the app
``vecron up`` serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from vecron import hookimpl

if TYPE_CHECKING:
    import typer
    from aiohttp import web

    from vecron import Runtime
    from vecron_api.routing import RouteRegistry


@hookimpl
def vecron_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    from vecron_api import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def vecron_web_app(runtime: Runtime) -> web.Application:
    from vecron_api.app import create_app

    return create_app(runtime)


@hookimpl
def vecron_register_routes(register: RouteRegistry) -> None:
    from vecron_api.routes import ROUTES

    for route in ROUTES():
        register.add(route)


@hookimpl
def vecron_register_commands(cli: typer.Typer) -> None:
    from vecron_api.command import api

    cli.command("api")(api)
