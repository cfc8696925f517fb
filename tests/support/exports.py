"""Exports for the import tests of both front ends: a good one and each kind of bad input
(issue 12, acceptance 6), as the bytes a file or a request body would hold."""

from __future__ import annotations

import json
from typing import Any

#: Over the default limit of an import (setting api_max_body_bytes, 10 MiB) five times.
FIFTY_MB = 50 * 1024 * 1024

FILES_STEP = {"id": "a", "type": "files", "rows": [{"x": 1}], "output": {"name": "r.csv"}}


def export(*definitions: dict[str, Any], version: int = 1) -> dict[str, Any]:
    """An export of ``definitions`` as ``job export`` writes one (nothing secret in them)."""
    return {
        "format_version": version,
        "exported_at": "2026-12-07T00:00:00Z",
        "exported_by": "tests",
        "vecron_version": "0.1.0",
        "secrets": [],
        "jobs": [{"definition": d, "variables": []} for d in definitions],
    }


def job(name: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "steps": [FILES_STEP], **more}


def huge() -> bytes:
    """A well-formed export of 50 MB: a job whose description is padded (an export read
    whole before its size is checked would be the bug)."""
    padding = FIFTY_MB - 1000
    return json.dumps(export(job("huge", description="x" * padding))).encode()


#: name -> (the export's bytes, the problem code an import answers, a word its message has)
BAD: dict[str, tuple[bytes, str, str]] = {
    "invalid JSON": (b'{"format_version": 1, "jobs": [', "syntax", "invalid JSON"),
    "unknown step type": (
        json.dumps(
            export(job("fine"), {"name": "odd", "steps": [{"id": "a", "type": "nope"}]})
        ).encode(),
        "unknown-step-type",
        "unknown step type 'nope'",
    ),
    "newer format": (
        json.dumps(export(job("future"), version=99)).encode(),
        "format-version-newer",
        "format version 99",
    ),
}
