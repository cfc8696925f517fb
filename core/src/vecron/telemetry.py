"""structlog set-up: JSON lines, or a console renderer on a terminal; secrets masked and
server URLs shown without their passwords."""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any, TextIO

import structlog

from vecron.secrets.redaction import mask
from vecron.urls import redact_urls_in

#: Secret values of the execution the current task runs (each execution has its task).
_SECRETS: ContextVar[frozenset[str]] = ContextVar("vecron_log_secrets", default=frozenset())
_PLAIN = (str, int, float, bool, type(None), Mapping, list, tuple)


def bind_secrets(secrets: Collection[str]) -> None:
    """Mask these values in every log line the current task writes from now on — the
    worker's and its executors' alike, whatever a plugin chooses to log."""
    if secrets:
        _SECRETS.set(_SECRETS.get() | frozenset(secrets))


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the last line of defence, after exceptions are formatted."""
    secrets = _SECRETS.get()
    if not secrets:
        return event
    # Objects are rendered by their str() later: mask that text now.
    return mask({k: v if isinstance(v, _PLAIN) else str(v) for k, v in event.items()}, secrets)


def _without_url_passwords(value: Any) -> Any:
    if isinstance(value, str):
        return redact_urls_in(value)
    if isinstance(value, Mapping):
        return {k: _without_url_passwords(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_url_passwords(v) for v in value]
    if isinstance(value, _PLAIN):
        return value
    # Objects are rendered by their str() or repr() later: check what they would show.
    shown = str(value)
    return redact_urls_in(shown) if "://" in shown or "://" in repr(value) else value


def redact_server_urls(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no URL password in any line, whoever wrote it — a driver's
    error text quoting its connection string included (issue #10, acceptance 6)."""
    return {k: _without_url_passwords(v) for k, v in event.items()}


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog once per process (the CLI calls it; libraries never do)."""
    stream = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_secrets,
            redact_server_urls,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        # Not cached: reconfiguring (tests, embedding) must reach every module's logger.
        cache_logger_on_first_use=False,
    )
    _route_library_logs(stream, renderer)


def _quiet_bad_requests(record: logging.LogRecord) -> bool:
    """A request aiohttp cannot parse (a header with a NUL byte, a bad request line) is
    the client's mistake, answered 400: one warning line, without the traceback — whose
    text quotes the offending header, which may be a credential."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None and type(exc).__module__.startswith("aiohttp.http_exceptions"):
        record.msg = "refused a malformed HTTP request (%s)"
        record.args = (type(exc).__name__,)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
    return True


def _route_library_logs(stream: TextIO, renderer: Any) -> None:
    """Lines libraries write through :mod:`logging` (aiohttp, SQLAlchemy, alembic) are
    rendered like vecron's own and pass the same masking; below warning they are dropped.
    Once per process: a second call replaces the first handler, never stacks."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_secrets,
                redact_server_urls,
                renderer,
            ],
        )
    )
    handler.addFilter(_quiet_bad_requests)
    handler.set_name(_LIBRARY_HANDLER)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != _LIBRARY_HANDLER]
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level < logging.WARNING:
        root.setLevel(logging.WARNING)


_LIBRARY_HANDLER = "vecron-library-logs"


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
