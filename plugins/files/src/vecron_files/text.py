"""Text in legacy encodings: Vietnamese in cp1258, and what cannot be encoded at all.

cp1258 (Windows Vietnamese) has precomposed letters for the vowel shapes (â ă ê ô ơ ư đ)
but not for most letters that also carry a tone mark: those are stored as the shaped
letter plus a combining tone mark (ễ is ê + U+0303). Text read from cp1258 is therefore
normalised to NFC, and text written to it is decomposed just enough to be encodable.
"""

from __future__ import annotations

import codecs
import unicodedata


def codec_name(encoding: str) -> str:
    """The codec's canonical name: ``windows-1258`` and ``CP1258`` are both ``cp1258``."""
    return codecs.lookup(encoding).name


def decomposes(encoding: str) -> bool:
    """Does this encoding store Vietnamese letters decomposed?"""
    return codec_name(encoding) == "cp1258"


def nfc(text: str) -> str:
    # is_normalized is much cheaper than normalize on text that already is (most text).
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _decomposed(char: str, encoding: str) -> str | None:
    """``char`` as an encodable shaped letter plus combining marks, or None."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], list(decomposed[1:])
    # Marks the encoding has as combining characters stay separate (the tone marks);
    # the others (circumflex, breve, horn) are composed back onto the letter.
    loose = [mark for mark in marks if _encodable(mark, encoding)]
    fixed = [mark for mark in marks if mark not in loose]
    for candidate in (
        unicodedata.normalize("NFC", base + "".join(fixed)) + "".join(loose),
        base + "".join(marks),
    ):
        if _encodable(candidate, encoding):
            return candidate
    return None


class UnencodableText(ValueError):
    """A character has no form in the target encoding."""

    def __init__(self, char: str, encoding: str) -> None:
        name = unicodedata.name(char, f"U+{ord(char):04X}")
        super().__init__(f"character {char!r} ({name}) cannot be encoded in {encoding}")


def encodable(text: str, encoding: str) -> str:
    """``text`` in a form ``encoding`` can encode (decomposed where it must be).

    :raises UnencodableText: a character cannot be encoded even decomposed.
    """
    if _encodable(text, encoding):
        return text
    pieces: list[str] = []
    for char in text:
        if _encodable(char, encoding):
            pieces.append(char)
            continue
        decomposed = _decomposed(char, encoding)
        if decomposed is None:
            raise UnencodableText(char, encoding)
        pieces.append(decomposed)
    return "".join(pieces)
