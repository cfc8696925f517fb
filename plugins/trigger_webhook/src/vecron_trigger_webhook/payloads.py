"""What a delivery's body, query and headers become in the Job Context (``webhook.*``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from vecron_api.requests import MalformedBody, UnsupportedMediaType

from .signing import HEADERS

FORM = "application/x-www-form-urlencoded"
#: Media types a body may come in: JSON, a form, or text.
ACCEPTED = ("application/json", "application/*+json", FORM, "text/*")
#: Headers that never reach the context: the signature's, and credentials a proxy or a
#: sender may add (they would be shown wherever the execution is).
HIDDEN_HEADERS = frozenset({*HEADERS, "authorization", "proxy-authorization", "cookie"})


def is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_media(media: str, size: int | None) -> None:
    """:raises UnsupportedMediaType: a body in a media type deliveries cannot have (none
    given is fine for an empty body)."""
    if not media and not size:
        return
    if is_json(media) or media == FORM or media.startswith("text/"):
        return
    raise UnsupportedMediaType(
        f"send the body as JSON, a form ({FORM}) or text, not {media or 'nothing'}",
        field="Content-Type",
        params={"accepted": list(ACCEPTED)},
    )


def payload(media: str, charset: str | None, body: bytes) -> Any:
    """The body as JSON data, a form's fields (``{name: value or [values]}``) or text;
    None when it is empty.

    :raises MalformedBody: JSON that is not, or text not in its charset.
    """
    if not body:
        return None
    try:
        text = body.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise MalformedBody(f"the body is not {charset or 'UTF-8'} text", field="body") from None
    if is_json(media):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise MalformedBody(f"the body is not JSON: {exc}", field="body") from None
        except RecursionError:
            raise MalformedBody("the body is not JSON: nested too deep", field="body") from None
    if media == FORM:
        return grouped(parse_qsl(text, keep_blank_values=True))
    return text


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Repeated names as lists, single ones as their value."""
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in found.items()}


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers (names lower-cased) that go into the context."""
    return {
        name.lower(): value for name, value in headers.items() if name.lower() not in HIDDEN_HEADERS
    }
