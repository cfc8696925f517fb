"""Properties of the text helpers: cp1258 decomposition and formula neutralising."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecron_files.formulas import TRIGGERS, neutralise
from vecron_files.text import UnencodableText, encodable, nfc

from .test_roundtrip import LETTERS, PUNCTUATION, VIETNAMESE

vietnamese_text = st.text(alphabet=LETTERS + VIETNAMESE + VIETNAMESE.upper() + PUNCTUATION)


@settings(max_examples=50)
@given(vietnamese_text)
def test_any_vietnamese_text_survives_cp1258(text: str) -> None:
    stored = encodable(text, "cp1258").encode("cp1258")
    assert nfc(stored.decode("cp1258")) == unicodedata.normalize("NFC", text)


def test_only_letters_cp1258_lacks_are_decomposed() -> None:
    assert encodable("Hà Nội", "cp1258") == "Hà Nô\u0323i"  # à is in cp1258, ộ is not
    assert encodable("Đà Nẵng", "cp1258") == "Đà Nă\u0303ng"
    assert encodable("plain ascii", "cp1258") == "plain ascii"


def test_a_character_without_any_cp1258_form_is_named() -> None:
    with pytest.raises(UnencodableText, match="CJK UNIFIED IDEOGRAPH-6F22"):
        encodable("Phở 漢", "cp1258")


@settings(max_examples=50)
@given(st.text(max_size=20))
def test_neutralised_text_never_starts_a_formula(text: str) -> None:
    result = neutralise(text)
    assert result == text or result == "'" + text
    if result == text and text.startswith(TRIGGERS):
        float(text)  # left alone only because it is a plain number


@settings(max_examples=50)
@given(st.integers() | st.decimals(allow_nan=False, allow_infinity=False, places=3))
def test_numbers_written_as_text_are_never_changed(number: object) -> None:
    assert neutralise(str(number)) == str(number)
