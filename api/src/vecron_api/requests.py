"""What handlers use: the caller, the runtime, the validated body and query, the reply.

Handlers only parse, call a service and reply with its view; these helpers keep each of
those steps one line and make every parse error the same problem document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import yaml
from aiohttp import web
from pydantic import BaseModel, BeforeValidator
from pydantic import ValidationError as PydanticError

from vecron import (
    AuthBackend,
    Principal,
    Runtime,
    Unauthenticated,
    ValidationError,
    problems_from_pydantic,
)
from vecron_api.keys import BACKENDS, PRINCIPAL, RUNTIME

M = TypeVar("M", bound=BaseModel)

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_and_time(value: Any) -> Any:
    # pydantic alone would also read "0.5" as a Unix time and "2026-12-07" as midnight;
    # the document promises ISO 8601 date-times, so only those are taken.
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-12-07T09:30:00Z")
    return value


#: A query's point in time: ISO 8601 text with a date and a time (naive means UTC).
DateTime = Annotated[datetime, BeforeValidator(_date_and_time)]

JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class UnsupportedMediaType(ValidationError):
    """The body comes in a media type the route does not take."""

    status = 415
    code = "unsupported-media-type"


class MalformedBody(ValidationError):
    """The body is not well-formed JSON (or YAML)."""

    status = 400
    code = "malformed-body"


def principal(request: web.Request) -> Principal:
    """The authenticated caller (the auth middleware put it there)."""
    found = request.get(PRINCIPAL)
    if not isinstance(found, Principal):
        raise Unauthenticated("this route needs credentials")
    return found


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def auth_backend(request: web.Request, kind: str) -> AuthBackend[Any]:
    """The started auth backend ``kind``.

    :raises NotFoundError: it is not enabled in settings ``auth_backends``.
    """
    from vecron import NotFoundError

    try:
        return request.app[BACKENDS][kind]
    except KeyError:
        raise NotFoundError(
            f"auth backend {kind!r} is not enabled", field="auth_backends"
        ) from None


def client_address(request: web.Request) -> str | None:
    return request.remote


async def raw_document(request: web.Request, types: Sequence[str] = (JSON,)) -> Any:
    """The body parsed as JSON (or YAML where ``types`` allow it).

    :raises UnsupportedMediaType: another content type (415).
    :raises MalformedBody: not well-formed (400).
    """
    media = request.content_type
    if media not in types:
        raise UnsupportedMediaType(
            f"send the body as {' or '.join(types)}, not {media or 'nothing'}",
            field="Content-Type",
            params={"accepted": list(types)},
        )
    text = await body_text(request)
    if media in YAML_TYPES:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MalformedBody(f"the body is not YAML: {str(exc).splitlines()[0]}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedBody(f"the body is not JSON: {exc}") from None
    except RecursionError:  # nested deeper than the interpreter's stack
        raise MalformedBody("the body is not JSON: nested too deep") from None


async def body_text(request: web.Request) -> str:
    """The body as text in its charset (UTF-8 unless it says otherwise).

    :raises MalformedBody: it does not decode (400), never a 500.
    """
    try:
        return await request.text()
    except (UnicodeDecodeError, LookupError):  # bad bytes, or a charset Python lacks
        raise MalformedBody(
            f"the body is not {request.charset or 'UTF-8'} text", field="body"
        ) from None


def validated(model: type[M], data: Any, *, what: str) -> M:
    """``data`` as ``model``; every problem listed with its field.

    :raises ValidationError: 422.
    """
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise ValidationError.of(
            problems_from_pydantic(exc.errors(include_url=False), data=data), what=what
        ) from None


async def body(request: web.Request, model: type[M]) -> M:
    """The JSON body validated as ``model`` (400 malformed, 415 wrong type, 422 invalid)."""
    return validated(model, await raw_document(request), what="request body")


def query(request: web.Request, model: type[M]) -> M:
    """The query string validated as ``model`` (422 listing every wrong parameter)."""
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        data[key] = values if len(values) > 1 else values[0]
    return validated(model, data, what="query")


def reply(
    view: BaseModel | Sequence[BaseModel] | Mapping[str, Any] | None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The view as JSON, exactly as the CLI's ``--json`` prints it."""
    if view is None:
        return web.Response(status=status if status != 200 else 204, headers=headers)
    # pydantic's own serialiser writes the same JSON as the CLI's model_dump + json.dumps,
    # in a fraction of the time (it was a tenth of a page of jobs).
    if isinstance(view, BaseModel):
        body = view.model_dump_json().encode()
    elif isinstance(view, Mapping):
        body = json.dumps(dict(view), ensure_ascii=False).encode()
    else:
        body = b"[" + b",".join(item.model_dump_json().encode() for item in view) + b"]"
    return web.Response(
        body=body, status=status, headers=headers, content_type=JSON, charset="utf-8"
    )
