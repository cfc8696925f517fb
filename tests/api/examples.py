"""One valid example request per API operation (by ``operationId``), against a
:class:`~tests.api.world.World`: what the route x role matrix sends.

A new route fails the matrix until it has a row here. An example that changes or uses up
an object makes its own (``world.new_job()``, ...), so every call of it succeeds whoever
made the one before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.api.world import FILE, DbUsers, World, job_document


@dataclass(frozen=True)
class Call:
    """A request: path parameters, query, a JSON body (or raw ``text`` of a media type)."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    text: str | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def url(self, template: str) -> str:
        """``template`` (an OpenAPI path) with this call's path parameters."""
        missing = set(re.findall(r"\{([^}]+)\}", template)) - set(self.path)
        assert not missing, f"the example of {template} gives no {sorted(missing)}"
        return re.sub(r"\{([^}]+)\}", lambda m: self.path[m.group(1)], template)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``client.request``."""
        given: dict[str, Any] = {"params": dict(self.query), "headers": dict(self.headers)}
        if self.json is not None:
            given["json"] = self.json
        elif self.text is not None:
            given["data"] = self.text
            given["headers"]["Content-Type"] = self.content_type or "application/json"
        return given


Example = Callable[[World], Awaitable[Call]]


def fixed(call: Call) -> Example:
    async def example(world: World) -> Call:
        return call

    return example


def of(make: Callable[[World], Call]) -> Example:
    async def example(world: World) -> Call:
        return make(world)

    return example


# -- jobs ----------------------------------------------------------------------------------


async def _replace_job(world: World) -> Call:
    name = await world.new_job("replaced")
    return Call(path={"name": name}, json=job_document(name, description="replaced"))


async def _delete_job(world: World) -> Call:
    return Call(path={"name": await world.new_job("doomed")})


async def _on_new_job(world: World) -> Call:
    return Call(path={"name": await world.new_job("toggled")})


async def _trigger(world: World) -> Call:
    name = await world.new_job("triggered")
    return Call(path={"name": name}, json={"params": {"day": "2026-01-01"}})


def _create_job(world: World) -> Call:
    return Call(json=job_document(world.name("created")))


def _apply(world: World) -> Call:
    return Call(json={"documents": [job_document(world.name("applied"))]})


def _import(world: World) -> Call:
    export = {
        "format_version": 1,
        "exported_at": "2026-12-07T00:00:00Z",
        "exported_by": "examples",
        "vecron_version": None,
        "jobs": [{"definition": job_document(world.name("imported"))}],
    }
    return Call(json={"document": export, "on_conflict": "fail"})


# -- executions ---------------------------------------------------------------------------


async def _cancel(world: World) -> Call:
    return Call(path={"id": await world.new_queued()})


async def _rerun(world: World) -> Call:
    return Call(path={"id": await world.new_dead_letter()}, json={"extra_attempts": 1})


# -- variables ----------------------------------------------------------------------------


async def _delete_variable(world: World) -> Call:
    return Call(path={"scope": "global", "name": await world.new_variable()})


# -- the database backend: sessions, users and roles ----------------------------------------


def _db(world: World) -> DbUsers:
    assert world.db is not None, "the db backend is not enabled"
    return world.db


async def _login(world: World) -> Call:
    db = _db(world)
    return Call(json={"username": "admin", "password": db.admin_password})


async def _with_refresh_token(world: World) -> Call:
    pair = await _db(world).login()
    return Call(json={"refresh_token": pair["refresh_token"]})


def _create_user(world: World) -> Call:
    name = world.name("new-user")
    return Call(json={"name": name, "password": _db(world).password, "roles": ["viewer"]})


async def _update_user(world: World) -> Call:
    name = await _db(world).new_user("viewer")
    return Call(path={"name": name}, json={"roles": ["operator"], "disabled": False})


async def _delete_user(world: World) -> Call:
    return Call(path={"name": await _db(world).new_user()})


def _create_role(world: World) -> Call:
    return Call(json={"name": world.name("new-role"), "permissions": ["job:read"]})


async def _update_role(world: World) -> Call:
    name = await _db(world).new_role()
    return Call(path={"name": name}, json={"permissions": ["job:read", "execution:read"]})


async def _delete_role(world: World) -> Call:
    return Call(path={"name": await _db(world).new_role()})


def _create_variable(world: World) -> Call:
    return Call(json={"name": world.name("NEW").replace("-", "_"), "value": "v"})


EXAMPLES: dict[str, Example] = {
    # auth
    "getMe": fixed(Call()),
    # jobs
    "listJobs": fixed(Call(query={"limit": "10", "search": "world"})),
    "createJob": of(_create_job),
    "getJob": of(lambda w: Call(path={"name": w.job})),
    "replaceJob": _replace_job,
    "deleteJob": _delete_job,
    "enableJob": _on_new_job,
    "disableJob": _on_new_job,
    "triggerJob": _trigger,
    "listJobVersions": of(lambda w: Call(path={"name": w.job})),
    "getJobVersion": of(lambda w: Call(path={"name": w.job, "version": "1"})),
    "getJobLedger": of(lambda w: Call(path={"name": w.job}, query={"limit": "20"})),
    "validateJobs": of(lambda w: Call(json={"documents": [job_document(w.name("checked"))]})),
    "applyJobs": of(_apply),
    # With its variables an export needs variable:read too; the matrix checks job:read.
    "exportJobs": of(lambda w: Call(json={"names": [w.job], "variables": False})),
    "importJobs": of(_import),
    # executions
    "listExecutions": of(lambda w: Call(query={"job": w.job, "limit": "5"})),
    "getExecution": of(lambda w: Call(path={"id": w.finished})),
    "getExecutionFile": of(lambda w: Call(path={"id": w.finished, "name": FILE})),
    "cancelExecution": _cancel,
    "rerunExecution": _rerun,
    "listDeadLetters": of(lambda w: Call(query={"job": w.job})),
    # variables
    "listVariables": fixed(Call()),
    "createVariable": of(
        lambda w: Call(json={"name": w.name("NEW").replace("-", "_"), "value": "v"})
    ),
    "getVariable": of(lambda w: Call(path={"scope": "global", "name": w.variable})),
    "putVariable": of(
        lambda w: Call(path={"scope": "global", "name": w.variable}, json={"value": "changed"})
    ),
    "deleteVariable": _delete_variable,
    # schedules, plugins, audit
    "explainSchedule": fixed(
        Call(query={"expression": "0 30 2 * * ?", "timezone": "Europe/Berlin", "count": "3"})
    ),
    "listPlugins": fixed(Call()),
    "listAudit": fixed(Call(query={"limit": "10"})),
    # the database backend
    "login": _login,
    "refreshTokens": _with_refresh_token,
    "logout": _with_refresh_token,
    "listUsers": fixed(Call()),
    "createUser": of(_create_user),
    "getUser": fixed(Call(path={"name": "admin"})),
    "updateUser": _update_user,
    "deleteUser": _delete_user,
    "listRoles": fixed(Call()),
    "createRole": of(_create_role),
    "getRole": fixed(Call(path={"name": "viewer"})),
    "updateRole": _update_role,
    "deleteRole": _delete_role,
}
