"""The database: the source of truth for jobs, executions and the occurrence ledger."""

from __future__ import annotations

from .base import JobFires as JobFires
from .base import SaveResult as SaveResult
from .base import Store as Store
