"""The webhook's own answers, in vecron's error hierarchy (problem JSON through the API's
one middleware, one line in the CLI)."""

from __future__ import annotations

from vecron import ValidationError


class PayloadTooLarge(ValidationError):
    """The body is larger than the job's webhook trigger allows (``max_body``)."""

    status = 413
    code = "body-too-large"
