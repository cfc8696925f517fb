"""The `files` step type: XLSX and CSV read, transformed and written (S4.3)."""

from __future__ import annotations
