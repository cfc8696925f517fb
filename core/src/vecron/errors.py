"""One hierarchy for every error vecron reports.

Each class carries the HTTP status the API answers with, the exit code the CLI exits
with and a stable ``code`` for RFC 9457 problem documents, so the CLI, the API and the
dashboard report the same failure the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VecronError(Exception):
    """Base of every error vecron raises on purpose."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def one_line(self) -> str:
        """The message the CLI prints: one line, with the fix when there is one."""
        text = self.message if self.field is None else f"{self.field}: {self.message}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split())

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details."""
        body: dict[str, Any] = {
            "type": f"https://vecron.dev/problems/{self.code}",
            "title": self.code.replace("-", " "),
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        if self.field is not None:
            body["field"] = self.field
        return body


class ConfigurationError(VecronError):
    """Settings or a backend URL are wrong."""

    status = 500
    exit_code = 78  # EX_CONFIG
    code = "configuration"


class PluginError(VecronError):
    """A plugin is broken: duplicate kind, bad registration, failed import."""

    exit_code = 70
    code = "plugin"


class DuplicateKindError(PluginError):
    code = "duplicate-kind"

    def __init__(self, family: str, kind: str, first: str, second: str) -> None:
        super().__init__(
            f"{family} kind {kind!r} is registered by both {first!r} and {second!r}",
            hint="uninstall one of them or block it with VECRON_DISABLE_PLUGINS",
        )


class ValidationError(VecronError):
    """A job definition, a schedule or another input is invalid."""

    status = 422
    exit_code = 65  # EX_DATAERR
    code = "validation"


class Unauthenticated(VecronError):
    """No valid credentials came with the request."""

    status = 401
    exit_code = 77  # EX_NOPERM
    code = "unauthenticated"


class PermissionDenied(VecronError):
    """The principal lacks the permission the action needs (SPEC S8.2)."""

    status = 403
    exit_code = 77  # EX_NOPERM
    code = "forbidden"

    def __init__(self, message: str, *, permission: str, resource: str) -> None:
        super().__init__(message)
        self.permission = permission
        self.resource = resource


class NotFoundError(VecronError, LookupError):
    status = 404
    exit_code = 66
    code = "not-found"


class ConflictError(VecronError):
    """The request conflicts with the current state (e.g. a running execution)."""

    status = 409
    exit_code = 75
    code = "conflict"


class FencedOut(VecronError):
    """A scheduler's write was refused: another scheduler was elected since (S5.5)."""

    status = 409
    exit_code = 75
    code = "fenced-out"


class BackendUnavailable(VecronError):
    """A backend (Redis, NATS, ...) cannot be reached right now; worth trying again later.

    Callers that use a backend only for efficiency (the scheduler lock, the breaker) treat
    it as "not leader" or "let the call through" rather than failing.
    """

    status = 503
    exit_code = 69  # EX_UNAVAILABLE
    code = "backend-unavailable"


class StepError(VecronError):
    """A step failed. ``retryable`` decides whether the execution is tried again."""

    code = "step-failed"
    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        output: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.output = output


class RetryableError(StepError):
    """A transient failure (connection refused, 503, timeout): worth another attempt."""

    retryable = True


class FinalError(StepError):
    """A failure another attempt cannot fix (bad request, auth refused, not found)."""

    retryable = False


class TemplateError(FinalError):
    """A step's template cannot be rendered: undefined reference, syntax error (S2.4).

    Final: the same template over the same context fails the same way again.
    ``config_field`` is the dotted path inside the step's config (``json.id``, ``when``).
    """

    code = "template"

    def __init__(
        self,
        message: str,
        *,
        step_id: str | None = None,
        config_field: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message)
        self.step_id = step_id
        self.config_field = config_field
        self.reference = reference


class TemplateSecurityError(TemplateError):
    """The template sandbox refused an operation (Python internals, oversized results)."""

    code = "template-security"


class EgressDenied(FinalError):
    """A step's destination is refused: an egress rule, or vecron's own database, key or
    storage. Final: every attempt would be refused the same way."""

    code = "egress-denied"


class ExecutionFailed(VecronError):
    """``vecron job run --wait`` saw its execution end in failure."""

    exit_code = 1
    code = "execution-failed"


class SecretKeyError(ConfigurationError):
    """A secret value cannot be decrypted with the configured keys (or no key is set).

    Never falls back to anything: the step or command that needed the value fails.
    """

    code = "secret-key"
