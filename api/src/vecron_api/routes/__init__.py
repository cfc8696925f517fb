"""The API's own routes, one module per resource; each handler parses, calls one service
method and replies with its view."""

from __future__ import annotations

from vecron_api.routing import Route


def ROUTES() -> list[Route]:
    from vecron_api.routes import (
        audit,
        executions,
        jobs,
        me,
        plugins,
        schedules,
        transfer,
        variables,
    )

    return [
        *me.ROUTES,
        *jobs.ROUTES,
        *transfer.ROUTES,
        *executions.ROUTES,
        *variables.ROUTES,
        *schedules.ROUTES,
        *plugins.ROUTES,
        *audit.ROUTES,
    ]
