"""The service layer: every rule lives here once; the CLI, API and dashboard call it."""

from __future__ import annotations
