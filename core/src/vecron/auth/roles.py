"""Roles: named sets of permissions (SPEC S8.2).

Three roles are built in and mean the same everywhere; an auth backend may add custom
ones (the database backend stores them, the Keycloak backend maps its token roles onto
these names). :func:`permissions_of` turns a principal's role names into the permission
set :func:`vecron.auth.authorize` checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vecron.auth.principal import ALL_PERMISSIONS, Permission

P = Permission

#: The built-in roles. ``operator`` runs the scheduler day to day (jobs, runs, variables)
#: but neither deletes jobs nor manages users; ``viewer`` reads everything but secrets.
BUILTIN_ROLES: Mapping[str, frozenset[Permission]] = {
    "admin": ALL_PERMISSIONS,
    "operator": frozenset(
        {
            P.JOB_READ,
            P.JOB_WRITE,
            P.JOB_EXECUTE,
            P.EXECUTION_READ,
            P.VARIABLE_READ,
            P.VARIABLE_WRITE,
        }
    ),
    "viewer": frozenset({P.JOB_READ, P.EXECUTION_READ, P.VARIABLE_READ}),
}


def permissions_of(
    roles: Iterable[str], custom: Mapping[str, Iterable[Permission]] | None = None
) -> frozenset[Permission]:
    """The union of the permissions of ``roles``; unknown role names grant nothing.

    ``custom`` holds the backend's own roles; a built-in name always means the built-in
    role (a custom role cannot redefine ``admin``).
    """
    found: set[Permission] = set()
    for role in roles:
        if role in BUILTIN_ROLES:
            found |= BUILTIN_ROLES[role]
        elif custom is not None and role in custom:
            found |= set(custom[role])
    return frozenset(found)
