"""Keyset cursors and page sizes, the one way every listing pages (:class:`Page`).

A cursor is an opaque, url-safe token (base64url of compact JSON) that names the
listing it came from, a digest of that listing's filters and the position of the last
item shown. A cursor that is not one of ours, or one from another listing or from the
same listing with other filters, is refused (``ValidationError`` at ``cursor``), not
read as some other position: a client that changed its filters between pages would
otherwise get a page that silently skips or repeats items. Cursors are not secret and
not signed: a forged one only names a position, and every filter and permission is
applied to the page as always.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from vecron.errors import ValidationError
from vecron.services.views.pages import Page

MIN_LIMIT = 1
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
#: Longer than any cursor we make; a longer one is refused before it is decoded.
MAX_CURSOR_LENGTH = 1024

R = TypeVar("R")
T = TypeVar("T")


def check_limit(limit: int) -> int:
    """:raises ValidationError: ``limit`` is not a whole number from 1 to 500."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise ValidationError(
            f"limit must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}, not {limit!r}",
            field="limit",
            reason="out-of-range",
            params={"min": MIN_LIMIT, "max": MAX_LIMIT},
        )
    return limit


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def _refuse(why: str) -> ValidationError:
    return ValidationError(
        f"invalid cursor: {why}; start again without one", field="cursor", reason="invalid-cursor"
    )


class Listing:
    """One listing (``executions``, ``jobs`` …) with its filters; makes and reads the
    cursors of its pages. ``filters`` are JSON-able values (datetimes as text)."""

    def __init__(self, name: str, filters: Mapping[str, Any]) -> None:
        self.name = name
        self.scope = hashlib.sha256(_canonical({"filters": filters})).hexdigest()[:16]

    def cursor(self, position: Sequence[str]) -> str:
        """The token of the page after the item at ``position``."""
        raw = _canonical({"l": self.name, "s": self.scope, "p": list(position)})
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def position(self, cursor: str | None, size: int) -> list[str] | None:
        """The position ``cursor`` names (``size`` strings), or None without a cursor.

        :raises ValidationError: (field ``cursor``) malformed, or made by another listing
            or with other filters.
        """
        if cursor is None:
            return None
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
            raise _refuse("not a cursor of this listing")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError):
            raise _refuse("not a cursor of this listing") from None
        if not isinstance(data, dict) or data.get("l") != self.name:
            raise _refuse(f"not a cursor of the {self.name} listing")
        if data.get("s") != self.scope:
            raise _refuse("it was made with other filters")
        found = data.get("p")
        if (
            not isinstance(found, list)
            or len(found) != size
            or not all(isinstance(part, str) for part in found)
        ):
            raise _refuse("its position is malformed")
        return found

    def page(
        self,
        found: Sequence[R],
        limit: int,
        position: Callable[[R], Sequence[str]],
        view: Callable[[R], T],
    ) -> tuple[list[T], str | None]:
        """The items of a page from ``found`` (up to ``limit`` + 1 rows: one more means
        there is a next page) and the next page's cursor."""
        shown = found[:limit]
        items = [view(row) for row in shown]
        more = len(found) > limit and bool(shown)
        return items, self.cursor(position(shown[-1])) if more else None


def utc_or_none(value: datetime | None) -> datetime | None:
    """``value`` in UTC; a naive one is taken as UTC (the store keeps UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_position(position: Sequence[str] | None) -> tuple[datetime, str] | None:
    """A cursor's ``(ISO timestamp, id)`` position as the store takes it.

    :raises ValidationError: (field ``cursor``) not an ISO timestamp with an offset.
    """
    if position is None:
        return None
    moment, last_id = position
    try:
        value = datetime.fromisoformat(moment)
    except ValueError:
        raise _refuse("its position is malformed") from None
    if value.tzinfo is None:
        raise _refuse("its position is malformed")
    return value.astimezone(UTC), last_id


async def collect(
    fetch: Callable[[str | None, int], Awaitable[Page[T]]], limit: int | None = None
) -> list[T]:
    """The items of a listing, page after page, up to ``limit`` of them (None: all):
    ``fetch(cursor, page_size)`` asks for one page. For front ends that show a whole
    listing (the CLI); each page is still one keyset range scan."""
    items: list[T] = []
    cursor: str | None = None
    while limit is None or len(items) < limit:
        size = MAX_LIMIT if limit is None else min(MAX_LIMIT, limit - len(items))
        page = await fetch(cursor, size)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return items
