"""Every way a secret can be spelled in what vecron writes, and where it occurs in a text.

A secret reaches an output, an error message or a log line as written, or encoded by
vecron itself, by a target echoing what vecron sent, or by both in turn:

- quoted into JSON or Python text, any number of times (a response that echoes a
  ``tojson`` value, quoted again by an error message, stored as JSON once more): every
  quoting doubles the backslashes before ``"`` and ``\\``, and may turn a character into
  ``\\n``, ``\\u00e9``, a surrogate pair or ``\\xe9``;
- percent-encoded (a URL, a form body; ``+`` for a space), once or again (``%2520``);
- base64 (a basic-auth header, a body stored as base64, the ``b64encode`` filter), in
  the standard or URL-safe alphabet, starting at any of the 3 byte offsets of a group,
  of the secret as written, quoted into JSON once, or percent-encoded (RFC 6749 client
  credentials are form-encoded before their basic-auth encoding).

Letters, digits and ``-._~`` are spelled as themselves by all of these, so the longest
run of them in a secret is a cheap first test: a text without it is not searched with
the secret's full pattern. A job's database step may mask thousands of values at once.
"""

from __future__ import annotations

import base64
import json
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, quote_plus

#: Escapes with a letter of their own (JSON's and Python's), by the character escaped.
_SHORT = {
    '"': '"',
    "'": "'",
    "/": "/",
    "\\": "\\",
    "\n": "n",
    "\r": "r",
    "\t": "t",
    "\b": "b",
    "\f": "f",
}
#: Characters no quoting or percent-encoding that vecron does ever changes.
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_BASE64_ALPHABET = frozenset(string.ascii_letters + string.digits + "+/-_")
_URLSAFE = str.maketrans("+/", "-_")
#: Fewer base64 characters than this are found in too much unrelated text to mask.
_SHORTEST_CORE = 3
#: A run of backslashes, whole: inside a run, a match would eat the rest of it from
#: each position, in quadratic time.
_RUN = r"(?<!\\)\\++"


def _hex(value: int, digits: int) -> str:
    """``value`` in hex, matching either case (``\\u00E9`` and ``%c3`` are as valid)."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{value:0{digits}x}")


def _escapes(char: str) -> str:
    """What follows the backslashes of an escaped ``char``: ``n``, ``u000a``, ``x0a``…"""
    code = ord(char)
    forms = [re.escape(_SHORT[char])] if char in _SHORT else []
    if code < 0x10000:
        forms.append("u" + _hex(code, 4))
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(f"u{_hex(high, 4)}\\\\+u{_hex(low, 4)}")
    if code < 0x100:
        forms.append("x" + _hex(code, 2))
    return "|".join(forms)


def _percent(char: str) -> str:
    """``char`` percent-encoded, as often as it was (each time ``%`` becomes ``%25``)."""
    return "".join(f"%(?:25)*{_hex(b, 2)}" for b in char.encode("utf-8", "surrogatepass"))


def _char(char: str, backslashes: int) -> str:
    """``char``, after ``backslashes`` backslashes of the secret, in any spelling.

    The secret's backslashes and the ones escaping ``char`` form one run whatever the
    depth, so they are matched as one run, possessively: a run per backslash would try
    every way to split a long run of them between the parts, and take exponential time.
    """
    if char in _UNRESERVED:
        plain = tail = re.escape(char)
        if backslashes == 0:
            return plain
    else:
        plain = "|".join([_percent(char), *([r"\+"] if char == " " else []), re.escape(char)])
        tail = f"{_escapes(char)}|{plain}"
    if backslashes == 0:
        return f"(?:{_RUN}(?:{tail})|{plain})"
    return f"(?:{_RUN}(?:{tail})|(?:%(?:25)*5[cC]){{{backslashes}}}(?:{plain}))"


def _text_pattern(secret: str) -> str:
    parts: list[str] = []
    backslashes = 0
    for char in secret:
        if char == "\\":
            backslashes += 1
            continue
        parts.append(_char(char, backslashes))
        backslashes = 0
    if backslashes:
        parts.append(f"(?:{_RUN}|(?:%(?:25)*5[cC]){{{backslashes}}})")
    return "".join(parts)


def _hint(secret: str) -> str:
    runs = "".join(c if c in _UNRESERVED else " " for c in secret).split()
    return max(runs, key=len, default="")


def _cores(secret: str) -> set[str]:
    """The base64 characters that depend on the secret's bytes alone, behind 0, 1 or 2
    other bytes, in both alphabets."""
    texts = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }
    cores: set[str] = set()
    for raw in (text.encode("utf-8", "surrogatepass") for text in texts):
        for offset in range(3):
            encoded = base64.b64encode(bytes(offset) + raw).decode("ascii")
            core = encoded[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6]
            if len(core) >= _SHORTEST_CORE:
                cores |= {core, core.translate(_URLSAFE)}
    return cores


@dataclass(frozen=True, slots=True)
class Spellings:
    """Where one secret occurs in a text, in any of its spellings."""

    #: Every spelling but base64 holds this text ("" if the secret gives none).
    hint: str
    #: The regular expression of every spelling but base64, compiled when the hint is
    #: found (``re`` keeps the last 512 compiled).
    pattern: str
    #: Base64 of the secret, without the characters it shares with its neighbours.
    cores: frozenset[str]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of every occurrence, overlapping ones too."""
        found: list[tuple[int, int]] = []
        if self.hint in text:
            pattern = re.compile(self.pattern)
            match = pattern.search(text)
            while match is not None:
                found.append(match.span())
                match = pattern.search(text, match.start() + 1)
        for core in self.cores:
            start = text.find(core)
            while start != -1:
                found.append(_widened(text, start, start + len(core)))
                start = text.find(core, start + 1)
        return found


def _widened(text: str, start: int, end: int) -> tuple[int, int]:
    """The span with the base64 character on each side, which mixes bits of the secret
    with bits of its neighbours: 2 or 4 bits of the secret would show otherwise."""
    if start > 0 and text[start - 1] in _BASE64_ALPHABET:
        start -= 1
    if end < len(text) and text[end] in _BASE64_ALPHABET:
        end += 1
    return start, end


@lru_cache(maxsize=4096)
def spellings(secret: str) -> Spellings:
    return Spellings(_hint(secret), _text_pattern(secret), frozenset(_cores(secret)))
