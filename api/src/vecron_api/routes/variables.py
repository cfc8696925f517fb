"""Variables: global (scope ``global``) and job-scoped (scope = the job's name); secret
values are write-only and masked on every read."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vecron import Permission, VariableView
from vecron_api.requests import body, principal, query, reply, runtime
from vecron_api.routing import Route

P = Permission
GLOBAL = "global"
#: What the variable service accepts as a name.
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
NAME_PARAM = {"name": {"pattern": VARIABLE_NAME}}


class ListVariables(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str | None = Field(None, description="Only this job's own variables.", max_length=200)


class NewVariable(BaseModel):
    """A variable to create or replace."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="A name like DB_HOST.", pattern=VARIABLE_NAME)
    value: str = Field(description="The value; a secret one is never shown again.")
    job: str | None = Field(None, description="The job it belongs to; none: global.")
    # strict: a JSON body says true or false; "no" or 0 is not taken for a boolean.
    secret: bool = Field(False, strict=True, description="Encrypt at rest and mask on every read.")


class VariableValue(BaseModel):
    """A new value for an existing variable's name and scope."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(description="The value; a secret one is never shown again.")
    # strict: a JSON body says true or false; "no" or 0 is not taken for a boolean.
    secret: bool = Field(False, strict=True, description="Encrypt at rest and mask on every read.")


def scope_job(scope: str) -> str | None:
    """The job a ``{scope}`` path part names: ``global`` is none; ``job:<name>`` reaches a
    job that is itself named ``global``."""
    if scope == GLOBAL:
        return None
    return scope.removeprefix("job:")


async def list_variables(request: web.Request) -> web.Response:
    q = query(request, ListVariables)
    return reply(await runtime(request).variables.list(principal(request), job=q.job))


async def create_variable(request: web.Request) -> web.Response:
    given = await body(request, NewVariable)
    view = await runtime(request).variables.set(
        principal(request), given.name, given.value, job=given.job, secret=given.secret
    )
    return reply(view, status=201)


async def get_variable(request: web.Request) -> web.Response:
    rt = runtime(request)
    job = scope_job(request.match_info["scope"])
    return reply(await rt.variables.get(principal(request), request.match_info["name"], job=job))


async def put_variable(request: web.Request) -> web.Response:
    given = await body(request, VariableValue)
    rt = runtime(request)
    job = scope_job(request.match_info["scope"])
    view = await rt.variables.set(
        principal(request), request.match_info["name"], given.value, job=job, secret=given.secret
    )
    return reply(view)


async def delete_variable(request: web.Request) -> web.Response:
    rt = runtime(request)
    job = scope_job(request.match_info["scope"])
    await rt.variables.delete(principal(request), request.match_info["name"], job=job)
    return reply(None, status=204)


ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/variables",
        handler=list_variables,
        operation_id="listVariables",
        summary="Every variable (or one job's own); secret values masked",
        tag="variables",
        permission=P.VARIABLE_READ,
        query=ListVariables,
        response=list[VariableView],
        errors=(404,),  # the job filter names no job
    ),
    Route(
        method="POST",
        path="/variables",
        handler=create_variable,
        operation_id="createVariable",
        summary="Create or replace a variable",
        tag="variables",
        permission=P.VARIABLE_WRITE,
        body=NewVariable,
        response=VariableView,
        status=201,
        errors=(404, 409),  # 404: the body's job does not exist
    ),
    Route(
        method="GET",
        path="/variables/{scope}/{name}",
        handler=get_variable,
        operation_id="getVariable",
        path_schemas=NAME_PARAM,
        summary="One variable (scope: global or a job's name); a secret one masked",
        tag="variables",
        permission=P.VARIABLE_READ,
        response=VariableView,
    ),
    Route(
        method="PUT",
        path="/variables/{scope}/{name}",
        handler=put_variable,
        operation_id="putVariable",
        path_schemas=NAME_PARAM,
        summary="Set a variable's value (scope: global or a job's name)",
        tag="variables",
        permission=P.VARIABLE_WRITE,
        body=VariableValue,
        response=VariableView,
        errors=(409,),
    ),
    Route(
        method="DELETE",
        path="/variables/{scope}/{name}",
        handler=delete_variable,
        operation_id="deleteVariable",
        path_schemas=NAME_PARAM,
        summary="Delete a variable",
        tag="variables",
        permission=P.VARIABLE_WRITE,
        status=204,
    ),
]
