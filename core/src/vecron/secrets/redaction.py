"""Secret values replaced by a mask wherever they appear: outputs, context files, logs (S3.2).

Rules, chosen so a secret can never survive masking:

- every spelling of a secret that vecron or a target echoing it can produce is covered
  (:mod:`.spellings`): as written, quoted into JSON at any depth, percent- or
  form-encoded, and base64 at any alignment (basic auth, bodies stored as base64);
- every occurrence of every secret is covered, overlapping ones included; overlapping
  or touching occurrences become one mask, so the mask never reveals a secret's length;
- masking repeats until no secret occurs, so text made of a mask plus its neighbours
  cannot spell a secret either;
- text is masked before it is cut or encoded (:func:`excerpt`; an executor calls
  :meth:`vecron.plugin.executor.StepContext.excerpt`): half a secret no longer reads as one;
- secrets shorter than :data:`MIN_SECRET_LENGTH` cannot be masked: masking every ``a``
  in an output would destroy it and reveal the secret by the pattern of masks. Secrets
  made only of asterisks and no longer than the mask cannot be either (the mask itself
  holds them). :func:`maskable` says which; the variable service refuses such secrets;
- strings nested in mappings, lists and tuples are masked, keys included; bytes as
  UTF-8; a number whose text contains a secret becomes the masked text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, overload

from vecron.secrets.spellings import Spellings, spellings

MASK = "**********"
MIN_SECRET_LENGTH = 3
#: How long an excerpt of a response or an exception quoted in an error may be.
EXCERPT_CHARS = 500


def maskable(secret: str) -> bool:
    """Can every occurrence of ``secret`` be masked without masking everything?"""
    return len(secret) >= MIN_SECRET_LENGTH and secret not in MASK


def _spellings(secrets: Collection[str]) -> list[Spellings]:
    return [spellings(secret) for secret in secrets if maskable(secret)]


def _mask_text(text: str, secrets: list[Spellings]) -> str:
    while spans := sorted(span for secret in secrets for span in secret.spans(text)):
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
    return text


def _mask(value: Any, secrets: list[Spellings]) -> Any:
    if isinstance(value, str):
        return _mask_text(value, secrets)
    if isinstance(value, bytes):
        # Bytes that are not UTF-8 keep them: surrogateescape gives each back unchanged.
        text = value.decode("utf-8", "surrogateescape")
        return _mask_text(text, secrets).encode("utf-8", "surrogateescape")
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
def mask(value: bytes, secrets: Collection[str]) -> bytes: ...
@overload
def mask(value: Mapping[str, Any], secrets: Collection[str]) -> dict[str, Any]: ...
@overload
def mask(value: list[Any], secrets: Collection[str]) -> list[Any]: ...
@overload
def mask(value: Any, secrets: Collection[str]) -> Any: ...
def mask(value: Any, secrets: Collection[str]) -> Any:
    """``value`` with every spelling of each secret replaced by ``**********``.

    Strings, bytes, mappings (returned as dicts), lists and tuples keep their shape;
    other values are returned as they are. Cheap when ``secrets`` is empty.
    """
    found = _spellings(secrets)
    return _mask(value, found) if found else value


def excerpt(text: str, secrets: Collection[str], limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line and at most ``limit`` characters (``…`` ends a cut one), for
    an error message: masked before its whitespace is folded and before it is cut, so
    neither can leave a secret's remains that no longer spell it."""
    found = _spellings(secrets)
    text = " ".join(_mask_text(text, found).split())
    # Folded whitespace may spell a secret that holds a single space.
    text = _mask_text(text, found)
    return text if len(text) <= limit else text[: limit - 1] + "…"
