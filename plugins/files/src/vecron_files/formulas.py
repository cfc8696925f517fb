"""Formula injection ("CSV injection") defence for exported cells, as OWASP recommends.

A spreadsheet opening an exported file runs any cell whose text starts with ``=``, ``+``,
``-`` or ``@`` as a formula (and tab or carriage return can hide such a start), so
``=HYPERLINK(…)`` in a customer's name becomes code on the reader's machine. Such text
gets a leading ``'``: shown as text, never run. Numbers are never changed, including
numbers held as text (``-12.5`` read from a CSV), which no spreadsheet runs.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def neutralise(text: str) -> str:
    """``text``, with ``'`` in front when a spreadsheet would read it as a formula."""
    if text.startswith(TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
