"""Alembic environment of the webhook trigger: vecron runs it (``vecron db upgrade`` and at
start-up) on its own connection, stamping ``alembic_version_trigger_webhook``."""

from __future__ import annotations

import vecron

vecron.run_migrations()
