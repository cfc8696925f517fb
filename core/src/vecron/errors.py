"""One hierarchy for every error vecron reports.

Each class carries the HTTP status the API answers with, the exit code the CLI exits
with and a stable ``code`` for RFC 9457 problem documents, so the CLI, the API and the
dashboard report the same failure the same way.

An error is made of :class:`Problem` s: what is wrong, where (a field path such as
``steps[0].url``) and a stable code of its own (``unknown-field``, ``job-not-found``).
A validation error lists every problem found, not just the first. Errors carry no
advice that only one front end can follow (a CLI command, a flag, an environment
variable): each front end looks its advice up by problem code (:mod:`vecron.cli.hints`
for the CLI). A ``hint`` that every front end can pass on ("use a longer value") may
stay on the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any, ClassVar, Self

#: Where problem types are documented; ``type`` of a problem document is this plus code.
PROBLEM_TYPE_BASE = "https://vecron.dev/problems/"


def field_path(parts: Iterable[int | str]) -> str:
    """``("steps", 0, "url")`` as ``steps[0].url``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def within(field: str, outer: str) -> bool:
    """``field`` is ``outer`` or inside it (``steps[0].url`` is within ``steps[0]``)."""
    return field == outer or field.startswith((f"{outer}.", f"{outer}["))


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item) for item in value]
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with an input: where, what kind, and in words.

    ``code`` is stable (front ends key their advice and translations on it); ``params``
    are the facts the message was made of (a limit, the installed kinds), JSON values
    only, so a front end can phrase its own text; ``source`` names the document (a
    file) when there are several.
    """

    message: str
    field: str | None = None
    code: str = "invalid"
    params: Mapping[str, Any] = dataclass_field(default_factory=dict)
    source: str | None = None

    def line(self) -> str:
        """``field: message`` on one line (no source: the error names it once)."""
        text = self.message if self.field is None else f"{self.field}: {self.message}"
        return " ".join(text.split())

    def as_dict(self) -> dict[str, Any]:
        """The entry of the problem document's ``errors`` member."""
        body: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.params:
            body["params"] = {key: _json_safe(value) for key, value in self.params.items()}
        if self.source is not None:
            body["source"] = self.source
        return body

    def covers(self, other: Problem) -> bool:
        """``other`` is at this problem's field or inside it: a consequence, not news."""
        if self.field is None or other.field is None:
            return False
        return within(other.field, self.field)


class VecronError(Exception):
    """Base of every error vecron raises on purpose.

    ``reason`` is the stable code of its one problem when it is more specific than the
    class's ``code`` (``job-not-found`` for a :class:`NotFoundError`); ``problems``
    replaces that one problem by several (see :meth:`ValidationError.of`).
    """

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        self.source: str | None = None
        self.problems: tuple[Problem, ...] = tuple(problems) or (
            Problem(message=message, field=field, code=reason or self.code, params=params or {}),
        )

    def at(self, source: str) -> Self:
        """This error, naming the document it is about (a file, ``file[2]``)."""
        self.source = source
        self.problems = tuple(replace(p, source=source) for p in self.problems)
        return self

    def one_line(self) -> str:
        """Every problem on one line (logs, stored execution errors), with the hint."""
        if len(self.problems) == 1:
            text = self.problems[0].line()
        else:
            text = f"{self.message}: " + "; ".join(p.line() for p in self.problems)
        if self.source is not None:
            text = f"{self.source}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split())

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details, every problem in ``errors``."""
        detail = self.message if self.source is None else f"{self.source}: {self.message}"
        body: dict[str, Any] = {
            "type": f"{PROBLEM_TYPE_BASE}{self.code}",
            "title": self.code.replace("-", " "),
            "status": self.status,
            "detail": " ".join(detail.split()),
            "code": self.code,
            "errors": [p.as_dict() for p in self.problems],
        }
        if self.field is not None:
            body["field"] = self.field
        if self.source is not None:
            body["source"] = self.source
        if self.hint:
            body["hint"] = self.hint
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
            params={"family": family, "kind": kind, "plugins": [first, second]},
        )


class ValidationError(VecronError):
    """A job definition, a schedule or another input is invalid."""

    status = 422
    exit_code = 65  # EX_DATAERR
    code = "validation"

    @classmethod
    def of(cls, problems: Sequence[Problem], *, what: str = "input") -> ValidationError:
        """One error for every problem found in ``what`` (``job document``).

        :raises ValueError: no problems (a caller's mistake: there is nothing to report).
        """
        if not problems:
            raise ValueError("ValidationError.of needs at least one problem")
        if len(problems) == 1:
            one = problems[0]
            return cls(one.message, field=one.field, reason=one.code, params=one.params)
        return cls(f"{len(problems)} problems in the {what}", problems=problems)


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
        super().__init__(message, params={"permission": permission, "resource": resource})
        self.permission = permission
        self.resource = resource


class TriggerForbidden(VecronError):
    """The job may not be started this way now: it is disabled (reason ``job-disabled``)
    or it does not allow the trigger kind asked for (reason ``trigger-not-allowed``).
    Unlike :class:`PermissionDenied` it is about the job, not about who asks."""

    status = 403
    exit_code = 77  # EX_NOPERM
    code = "trigger-forbidden"


class NotFoundError(VecronError, LookupError):
    status = 404
    exit_code = 66
    code = "not-found"


class TooManyRequests(VecronError):
    """Too many attempts in too short a time (login throttling, rate limits)."""

    status = 429
    exit_code = 75  # EX_TEMPFAIL
    code = "too-many-requests"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, params={"retry_after": round(retry_after, 3)})
        self.retry_after = retry_after


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


# -- pydantic's errors as problems ------------------------------------------------------

#: What pydantic puts before a validator's own words.
_LIBRARY_PREFIX = re.compile(r"^(Value error|Assertion failed),\s*")
_MISSING = frozenset(
    {
        "missing",
        "missing_argument",
        "missing_keyword_only_argument",
        "missing_positional_only_argument",
    }
)
#: Location parts pydantic gives its schemas (a union member, a validator wrapper), used
#: when the input is not at hand to tell them from field names.
_SCHEMA_NAME = re.compile(
    r"[a-z][a-z0-9-]*\[.*\]|function-(after|before|wrap|plain)|json-or-python|lax-or-strict"
    r"|is-instance|constrained-[a-z]+|str|int|float|bool|bytes|decimal|date|datetime|time"
    r"|timedelta|url|multi-host-url|uuid|none|list|dict|set|frozenset|tuple|enum|literal"
    r"|model|dataclass|typed-dict|chain|nullable|default|union|any",
    re.DOTALL,
)
#: pydantic error types renamed: the rest keep their name, with ``-`` for ``_``.
_CODES = {
    "extra_forbidden": "unknown-field",
    "value_error": "invalid",
    "assertion_error": "invalid",
}
_ABSENT: Any = object()


def problems_from_pydantic(
    errors: Iterable[Mapping[str, Any]],
    *,
    data: Any = _ABSENT,
    prefix: Sequence[int | str] = (),
) -> list[Problem]:
    """pydantic's ``exc.errors()`` as problems, each at its field, in the user's words.

    Takes the error dicts, not the exception, so that this module imports no library.
    ``data`` is the input that was validated: with it, a location part that is not in
    the input is known to be the name of a schema (``str`` of ``int | str``, a tagged
    union's tag) and is left out of the field path; without it, the names pydantic
    gives its schemas are. ``prefix`` is where the input sits in a larger document.
    """
    found: list[Problem] = []
    for error in errors:
        parts = _field_parts(error, data)
        problem = Problem(
            message=_message(error),
            field=field_path([*prefix, *parts]) or None,
            code=_code(str(error.get("type", "invalid"))),
            params={
                key: _json_safe(value)
                for key, value in (error.get("ctx") or {}).items()
                if key != "error"
            },
        )
        if problem not in found:  # a union's members often fail alike
            found.append(problem)
    return found


def _field_parts(error: Mapping[str, Any], data: Any) -> list[int | str]:
    loc: Sequence[int | str] = tuple(error.get("loc", ()))
    missing = error.get("type") in _MISSING
    kept: list[int | str] = []
    current = data
    for index, part in enumerate(loc):
        if current is _ABSENT:  # input not at hand, or lost: go by the schema names
            if not (isinstance(part, str) and _SCHEMA_NAME.fullmatch(part)):
                kept.append(part)
            continue
        if isinstance(current, Mapping) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(part, int) and isinstance(current, list | tuple):
            kept.append(part)
            current = current[part] if -len(current) <= part < len(current) else _ABSENT
        elif isinstance(part, int) or (missing and index == len(loc) - 1):
            kept.append(part)  # a field the input lacks: the one that is missing
            current = _ABSENT
        # else: not in the input, so the name of a schema: left out
    return kept


def _code(kind: str) -> str:
    return _CODES.get(kind, kind.replace("_", "-"))


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, VecronError):
        text = cause.message
    elif isinstance(cause, Exception) and str(cause):
        text = str(cause)
    else:
        text = _LIBRARY_PREFIX.sub("", str(error.get("msg", "")))
    return " ".join(text.split()) or "is invalid"
