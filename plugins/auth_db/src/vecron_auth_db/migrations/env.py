"""Alembic environment of the database auth backend: vecron runs it (``vecron db upgrade``
and at start-up) on its own connection, stamping ``alembic_version_auth_db``."""

from __future__ import annotations

import vecron

vecron.run_migrations()
