"""Leases on names, for scheduler leadership."""

from __future__ import annotations

from .base import Lock as Lock
from .factory import open_lock as open_lock
