"""Stored definitions are validated once per (job, version): a version never changes."""

from __future__ import annotations

import pytest

from vecron.store import rows

DOCUMENT = {
    "name": "cached",
    "timezone": "UTC",
    "triggers": [{"type": "manual"}],
    "steps": [{"id": "a", "type": "record"}],
}


def test_a_version_is_validated_once_and_a_new_version_again() -> None:
    first = rows.job_definition("job-cache-1", 1, DOCUMENT)
    assert rows.job_definition("job-cache-1", 1, DOCUMENT) is first
    second = rows.job_definition("job-cache-1", 2, {**DOCUMENT, "description": "v2"})
    assert second is not first and second.description == "v2"
    assert rows.job_definition("job-cache-2", 1, DOCUMENT) is not first


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rows, "DEFINITION_CACHE_SIZE", 3)
    monkeypatch.setattr(rows, "_DEFINITIONS", type(rows._DEFINITIONS)())
    kept = rows.job_definition("lru-0", 1, DOCUMENT)
    for n in range(1, 3):
        rows.job_definition(f"lru-{n}", 1, DOCUMENT)
    assert rows.job_definition("lru-0", 1, DOCUMENT) is kept  # used again: newest now
    rows.job_definition("lru-3", 1, DOCUMENT)  # evicts lru-1, the least recently used
    assert len(rows._DEFINITIONS) == 3
    assert ("lru-1", 1) not in rows._DEFINITIONS and ("lru-0", 1) in rows._DEFINITIONS
