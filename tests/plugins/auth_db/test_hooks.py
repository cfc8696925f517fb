"""The plugin's hooks: it registers the ``db`` backend, its migrations and its commands."""

from __future__ import annotations

import typer
from sqlalchemy import inspect, text

import vecron_auth_db
from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron.runtime import Runtime
from vecron_auth_db import DbAuthBackend


def test_hook_vecron_register_auth_backends() -> None:
    registry = build_registry(get_plugin_manager())
    assert registry.auth_backend("db") is DbAuthBackend
    assert registry.owners[("auth", "db")] == "auth_db"


async def test_hook_vecron_register_migrations(runtime: Runtime) -> None:
    """On SQLite and PostgreSQL: the tables exist, stamped in their own version table."""
    assert runtime.registry.migrations["auth_db"].table == "alembic_version_auth_db"
    async with runtime.store.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        version = (
            await conn.execute(text("SELECT version_num FROM alembic_version_auth_db"))
        ).scalar_one()
    assert {"auth_users", "auth_roles", "auth_refresh_tokens", "auth_signing_keys"} <= tables
    assert version == "auth_db_0001"


def test_hook_vecron_register_commands() -> None:
    cli = typer.Typer()
    vecron_auth_db.vecron_register_commands(cli)
    groups = {group.name: group.typer_instance for group in cli.registered_groups}
    assert set(groups) == {"users", "roles"}
    users = {c.name for c in groups["users"].registered_commands}
    roles = {c.name for c in groups["roles"].registered_commands}
    assert users == {"add", "list", "set-password", "disable", "enable", "delete"}
    assert roles == {"add", "list", "delete"}
