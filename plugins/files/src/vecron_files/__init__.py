"""Excel/CSV executor for vecron: read XLSX and CSV into rows, map, convert, filter, write XLSX and CSV, streamed."""

from __future__ import annotations
