"""Secret values replaced by a mask wherever they appear: outputs, context files, logs (S3.2).

Rules, chosen so a secret can never survive masking:

- every occurrence of every secret is covered, overlapping ones included; overlapping
  or touching occurrences become one mask, so the mask never reveals a secret's length;
- masking repeats until no secret occurs, so text made of a mask plus its neighbours
  cannot spell a secret either;
- secrets shorter than :data:`MIN_SECRET_LENGTH` are ignored: masking every ``a`` in an
  output would destroy it and reveal the secret by the pattern of masks. Secrets made only
  of asterisks and no longer than the mask are ignored too (the mask itself contains them);
- strings nested in mappings, lists and tuples are masked, keys included; a number whose
  text contains a secret becomes the masked text;
- a secret quoted into JSON text (escaped quotes, backslashes, ``\\uXXXX``) is masked too.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, overload

from ..masking import MASK

MIN_SECRET_LENGTH = 3


def _spellings(secret: str) -> set[str]:
    """The secret, and how it reads once quoted into JSON text (an error message quoting
    a response body, a log line): ``a"b`` also as ``a\\"b`` and ``é`` also as ``\\u00e9``."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def _usable(secrets: Collection[str]) -> tuple[str, ...]:
    kept = {
        spelling
        for secret in secrets
        if len(secret) >= MIN_SECRET_LENGTH and secret not in MASK
        for spelling in _spellings(secret)
    }
    return tuple(sorted(kept, key=len, reverse=True))


def _mask_text(text: str, secrets: tuple[str, ...]) -> str:
    while True:
        spans: list[tuple[int, int]] = []
        for secret in secrets:
            start = text.find(secret)
            while start != -1:
                spans.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        if not spans:
            return text
        spans.sort()
        pieces: list[str] = []
        position = 0
        span_start, span_end = spans[0]
        for start, end in spans[1:]:
            if start <= span_end:
                span_end = max(span_end, end)
                continue
            pieces += (text[position:span_start], MASK)
            position = span_end
            span_start, span_end = start, end
        pieces += (text[position:span_start], MASK, text[span_end:])
        text = "".join(pieces)


def _mask(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {_mask(key, secrets): _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(_mask(item, secrets) for item in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        masked = _mask_text(text, secrets)
        return value if masked == text else masked
    return value


@overload
def mask(value: str, secrets: Collection[str]) -> str: ...
@overload
def mask(value: Mapping[str, Any], secrets: Collection[str]) -> dict[str, Any]: ...
@overload
def mask(value: list[Any], secrets: Collection[str]) -> list[Any]: ...
@overload
def mask(value: Any, secrets: Collection[str]) -> Any: ...
def mask(value: Any, secrets: Collection[str]) -> Any:
    """``value`` with every occurrence of each secret replaced by ``**********``.

    Strings, mappings (returned as dicts), lists and tuples keep their shape; other values
    are returned as they are. Cheap when ``secrets`` is empty.
    """
    usable = _usable(secrets)
    if not usable:
        return value
    return _mask(value, usable)
