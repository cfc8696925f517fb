"""Cursors and page sizes (vecron.services.paging): a cursor reads back as the position
it was made from, only for its own listing and filters; anything else a client sends
as a cursor is a ValidationError at ``cursor``, never another error or a position."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecron.errors import ValidationError
from vecron.services.paging import (
    MAX_LIMIT,
    Listing,
    check_limit,
    collect,
    time_position,
)
from vecron.services.views import Page

filters = st.dictionaries(
    st.sampled_from(["job", "status", "trigger", "since"]),
    st.none() | st.text(max_size=20) | st.booleans(),
)
positions = st.lists(st.text(max_size=40), min_size=1, max_size=3)


@given(filters, positions)
def test_a_cursor_reads_back_only_in_its_own_listing(
    chosen: dict[str, Any], position: list[str]
) -> None:
    listing = Listing("executions", chosen)
    cursor = listing.cursor(position)
    assert cursor.isascii() and all(c.isalnum() or c in "-_" for c in cursor)  # url-safe
    assert (
        Listing("executions", dict(reversed(chosen.items()))).position(cursor, len(position))
        == position
    )
    for other in (
        Listing("jobs", chosen),
        Listing("executions", {**chosen, "job": "another-job-entirely"}),
    ):
        if other.name == listing.name and other.scope == listing.scope:
            continue
        with pytest.raises(ValidationError) as refused:
            other.position(cursor, len(position))
        assert refused.value.field == "cursor"
    with pytest.raises(ValidationError):
        listing.position(cursor, len(position) + 1)


@given(
    st.text(max_size=300)
    | st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode())
)
def test_anything_else_is_refused_at_cursor(garbage: str) -> None:
    # (A random text is never one of our cursors: they carry the listing's digest.)
    with pytest.raises(ValidationError) as refused:
        Listing("executions", {}).position(garbage, 2)
    assert (refused.value.field, refused.value.problems[0].code) == ("cursor", "invalid-cursor")


def test_cursor_positions_and_limits() -> None:
    listing = Listing("executions", {})
    assert listing.position(None, 2) is None
    with pytest.raises(ValidationError):
        listing.position("x" * 2000, 2)
    at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=7)))
    assert time_position([at.isoformat(), "id-1"]) == (at.astimezone(UTC), "id-1")
    for bad in (["2030-01-02T03:04:05", "id"], ["yesterday", "id"]):
        with pytest.raises(ValidationError) as refused:
            time_position(bad)
        assert refused.value.field == "cursor"
    assert [check_limit(n) for n in (1, 50, MAX_LIMIT)] == [1, 50, MAX_LIMIT]
    for bad_limit in (0, -5, MAX_LIMIT + 1, True):
        with pytest.raises(ValidationError) as refused:
            check_limit(bad_limit)
        assert refused.value.field == "limit"


async def test_collect_walks_pages_up_to_a_limit() -> None:
    items = list(range(1234))
    asked: list[tuple[str | None, int]] = []

    async def fetch(cursor: str | None, size: int) -> Page[int]:
        asked.append((cursor, size))
        start = int(cursor or 0)
        end = start + size
        return Page[int](items=items[start:end], next_cursor=str(end) if end < len(items) else None)

    assert await collect(fetch) == items
    assert [size for _, size in asked] == [MAX_LIMIT, MAX_LIMIT, MAX_LIMIT]
    asked.clear()
    assert await collect(fetch, 600) == items[:600]
    assert asked == [(None, MAX_LIMIT), ("500", 100)]
