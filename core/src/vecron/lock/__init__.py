"""Leases on names, for scheduler leadership."""

from __future__ import annotations

from vecron.lock.base import Lock as Lock
from vecron.lock.factory import open_lock as open_lock
