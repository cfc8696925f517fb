"""The first administrator, the way Airflow's standalone mode makes one.

When the backend starts on a database with no user, it creates ``admin`` (role admin)
with the password of ``VECRON_ADMIN_PASSWORD``, or a generated one that it prints once
to stderr (never through the logger, so it reaches no log collector) and writes to
``<state_dir>/admin-password`` (file 0600 in a folder 0700). Several processes starting
together create one admin: the check and the insert share one write transaction, and
the unique name refuses a second insert.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from vecron import Database

from . import records
from .passwords import Passwords, generate_password

ADMIN = "admin"
PASSWORD_ENV = "VECRON_ADMIN_PASSWORD"
PASSWORD_FILE = "admin-password"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (folder 0700, file 0600)."""
    folder = path.parent
    if not folder.is_dir():  # one that exists may be shared: left as it is
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # an existing file keeps its mode otherwise
        file.write(text + "\n")


async def create_first_admin(
    database: Database,
    passwords: Passwords,
    state_dir: Path,
    clock: Callable[[], datetime],
) -> bool:
    """Create ``admin`` when there is no user at all. :returns: whether this call did.

    :raises ValidationError: ``VECRON_ADMIN_PASSWORD`` breaks the password policy.
    """
    async with database.connect() as conn:
        if await records.has_users(conn):
            return False
    given = os.environ.get(PASSWORD_ENV) or None
    if given is not None:
        passwords.check_policy(given, field=PASSWORD_ENV)
    password = given or generate_password()
    hashed = await passwords.hash(password)
    try:
        async with database.begin() as conn:
            if await records.has_users(conn):
                return False
            await records.insert_user(
                conn,
                name=ADMIN,
                password_hash=hashed,
                roles=[ADMIN],
                disabled=False,
                now=clock(),
            )
    except IntegrityError:  # another process made it first
        return False
    if given is not None:
        print(
            f"vecron: created user {ADMIN!r} with the password of {PASSWORD_ENV}",
            file=sys.stderr,
        )
        return True
    path = state_dir / PASSWORD_FILE
    write_private(path, password)
    print(
        f"vecron: created user {ADMIN!r} with password {password}\n"
        f"vecron: it is also in {path} (readable by you only); change it with "
        f"`vecron users set-password {ADMIN}` and delete the file",
        file=sys.stderr,
        flush=True,
    )
    return True
