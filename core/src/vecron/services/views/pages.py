"""A page of a listing: its items and the cursor of the next page.

Every listing pages by keyset (the position of the last item shown), never by offset: a
page costs the same at the millionth row as at the first, and rows inserted meanwhile
neither repeat an item nor skip one.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """``items`` in the listing's order; ``next_cursor`` asks for the page after them
    (pass it back as ``cursor`` with the same filters), None on the last page."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = None
