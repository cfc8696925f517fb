"""The backend's REST routes: ``/auth/login``, ``/auth/refresh``, ``/auth/logout``
(public) and ``/users``, ``/roles`` (``user:admin``, checked by the services).

Handlers only parse, call a service and reply with its view. The session routes need
the started ``db`` backend (its signing keys and throttle); the user and role routes
work on vecron's database whichever backends authenticate callers, so that an
installation signing people in through Keycloak can still keep database users.
"""

from __future__ import annotations

from aiohttp import web

from vecron import NotFoundError, Permission
from vecron_api import (
    Route,
    RouteRegistry,
    auth_backend,
    body,
    client_address,
    principal,
    reply,
    runtime,
)

from .backend import DbAuthBackend, Services
from .views import (
    LoginRequest,
    RefreshRequest,
    RoleCreate,
    RoleUpdate,
    RoleView,
    TokenPair,
    UserCreate,
    UserUpdate,
    UserView,
)

KIND = "db"
ADMIN = Permission.USER_ADMIN


def backend_of(request: web.Request) -> DbAuthBackend:
    """:raises NotFoundError: the ``db`` backend is not enabled (settings ``auth_backends``)."""
    found = auth_backend(request, KIND)
    if not isinstance(found, DbAuthBackend):  # another plugin took the kind
        raise NotFoundError(f"auth backend {KIND!r} is not this one", field="auth_backends")
    return found


def services_of(request: web.Request) -> Services:
    """The started backend's services, or services over the runtime's database."""
    try:
        return backend_of(request).started.services
    except NotFoundError:
        return Services.over(runtime(request))


def session_headers() -> dict[str, str]:
    # Tokens must not be kept by browsers or proxies (RFC 6749 section 5.1).
    return {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def login(request: web.Request) -> web.Response:
    given = await body(request, LoginRequest)
    pair = await backend_of(request).login(
        given.username, given.password.get_secret_value(), client_address(request)
    )
    return reply(pair, headers=session_headers())


async def refresh(request: web.Request) -> web.Response:
    given = await body(request, RefreshRequest)
    pair = await backend_of(request).refresh(
        given.refresh_token.get_secret_value(), client_address(request)
    )
    return reply(pair, headers=session_headers())


async def logout(request: web.Request) -> web.Response:
    given = await body(request, RefreshRequest)
    await backend_of(request).logout(
        given.refresh_token.get_secret_value(), client_address(request)
    )
    return reply(None, status=204)


async def list_users(request: web.Request) -> web.Response:
    return reply(await services_of(request).users.list(principal(request)))


async def create_user(request: web.Request) -> web.Response:
    given = await body(request, UserCreate)
    return reply(await services_of(request).users.create(principal(request), given), status=201)


async def get_user(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return reply(await services_of(request).users.get(principal(request), name))


async def update_user(request: web.Request) -> web.Response:
    given = await body(request, UserUpdate)
    name = request.match_info["name"]
    return reply(await services_of(request).users.update(principal(request), name, given))


async def delete_user(request: web.Request) -> web.Response:
    await services_of(request).users.delete(principal(request), request.match_info["name"])
    return reply(None, status=204)


async def list_roles(request: web.Request) -> web.Response:
    return reply(await services_of(request).roles.list(principal(request)))


async def create_role(request: web.Request) -> web.Response:
    given = await body(request, RoleCreate)
    return reply(await services_of(request).roles.create(principal(request), given), status=201)


async def get_role(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return reply(await services_of(request).roles.get(principal(request), name))


async def update_role(request: web.Request) -> web.Response:
    given = await body(request, RoleUpdate)
    name = request.match_info["name"]
    return reply(await services_of(request).roles.update(principal(request), name, given))


async def delete_role(request: web.Request) -> web.Response:
    await services_of(request).roles.delete(principal(request), request.match_info["name"])
    return reply(None, status=204)


USERS = "users"
ROLES = "roles"
AUTH = "auth"


def routes() -> list[Route]:
    """Every route of the backend, in the order the API reference lists them."""
    return [
        Route(
            method="POST",
            path="/auth/login",
            handler=login,
            operation_id="login",
            summary="Log in: a user name and password for a token pair",
            tag=AUTH,
            public=True,
            body=LoginRequest,
            response=TokenPair,
            errors=(401, 429),
        ),
        Route(
            method="POST",
            path="/auth/refresh",
            handler=refresh,
            operation_id="refreshTokens",
            summary="Trade a refresh token for a new pair (the old one stops working)",
            tag=AUTH,
            public=True,
            body=RefreshRequest,
            response=TokenPair,
            errors=(401, 429),
        ),
        Route(
            method="POST",
            path="/auth/logout",
            handler=logout,
            operation_id="logout",
            summary="Revoke a refresh token",
            tag=AUTH,
            public=True,
            body=RefreshRequest,
            status=204,
        ),
        Route(
            method="GET",
            path="/users",
            handler=list_users,
            operation_id="listUsers",
            summary="Every user of the database backend",
            tag=USERS,
            permission=ADMIN,
            response=list[UserView],
        ),
        Route(
            method="POST",
            path="/users",
            handler=create_user,
            operation_id="createUser",
            summary="Create a user",
            tag=USERS,
            permission=ADMIN,
            body=UserCreate,
            response=UserView,
            status=201,
            errors=(409,),
        ),
        Route(
            method="GET",
            path="/users/{name}",
            handler=get_user,
            operation_id="getUser",
            summary="One user",
            tag=USERS,
            permission=ADMIN,
            response=UserView,
        ),
        Route(
            method="PUT",
            path="/users/{name}",
            handler=update_user,
            operation_id="updateUser",
            summary="Change a user's roles or password, or disable or enable it",
            tag=USERS,
            permission=ADMIN,
            body=UserUpdate,
            response=UserView,
            errors=(409,),
        ),
        Route(
            method="DELETE",
            path="/users/{name}",
            handler=delete_user,
            operation_id="deleteUser",
            summary="Delete a user",
            tag=USERS,
            permission=ADMIN,
            status=204,
            errors=(409,),
        ),
        Route(
            method="GET",
            path="/roles",
            handler=list_roles,
            operation_id="listRoles",
            summary="Every role: built-in and custom",
            tag=ROLES,
            permission=ADMIN,
            response=list[RoleView],
        ),
        Route(
            method="POST",
            path="/roles",
            handler=create_role,
            operation_id="createRole",
            summary="Create a custom role",
            tag=ROLES,
            permission=ADMIN,
            body=RoleCreate,
            response=RoleView,
            status=201,
            errors=(409,),
        ),
        Route(
            method="GET",
            path="/roles/{name}",
            handler=get_role,
            operation_id="getRole",
            summary="One role",
            tag=ROLES,
            permission=ADMIN,
            response=RoleView,
        ),
        Route(
            method="PUT",
            path="/roles/{name}",
            handler=update_role,
            operation_id="updateRole",
            summary="Change a custom role",
            tag=ROLES,
            permission=ADMIN,
            body=RoleUpdate,
            response=RoleView,
            errors=(409,),
        ),
        Route(
            method="DELETE",
            path="/roles/{name}",
            handler=delete_role,
            operation_id="deleteRole",
            summary="Delete a custom role no user holds",
            tag=ROLES,
            permission=ADMIN,
            status=204,
            errors=(409,),
        ),
    ]


def register_routes(register: RouteRegistry) -> None:
    for route in routes():
        register.add(route)
