"""Server URLs as people may see them: in log lines, CLI output and error messages.

Settings name servers with their credentials (``postgresql+asyncpg://app:pw@db/vecron``,
``s3://KEY:SECRET@minio:9000/bucket``, ``redis://:pw@cache:6379/0``); the password part
must never leave the process. :func:`redact_url` hides it in a URL, for every backend;
:func:`redact_urls_in` hides it in any text that may quote one (a driver's error, a log
line), which the log set-up applies to every line as a last line of defence.
"""

from __future__ import annotations

import re

# scheme://user:  then everything up to the *last* @: a password holding an unencoded
# "@" or "/" is hidden whole (with more of the URL, which errs on the safe side).
_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:).*@", re.DOTALL)
# The same inside free text, where a URL ends at white space or a quote: the password
# runs up to the last "@" before that end.
_PASSWORD_IN_TEXT = re.compile(r"""([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'"]*:)[^\s'"]*@""")


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``; a URL without a
    password is returned as it is."""
    return _PASSWORD.sub(r"\1***@", url)


def redact_urls_in(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***`` (a URL is taken
    to end at white space or a quote)."""
    if "://" not in text:  # the common case, without a regular expression
        return text
    return _PASSWORD_IN_TEXT.sub(r"\1***@", text)
