"""Server URLs as people may see them: in log lines, CLI output and error messages.

Settings name servers with their credentials (``postgresql+asyncpg://app:pw@db/vecron``,
``s3://KEY:SECRET@minio:9000/bucket``, ``redis://:pw@cache:6379/0``); the password part
must never leave the process. One function hides it, for every backend.
"""

from __future__ import annotations

import re

# scheme://user:  then everything up to the *last* @: a password holding an unencoded
# "@" or "/" is hidden whole (with more of the URL, which errs on the safe side).
_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:).*@", re.DOTALL)


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``; a URL without a
    password is returned as it is."""
    return _PASSWORD.sub(r"\1***@", url)
