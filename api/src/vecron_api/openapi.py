"""The OpenAPI 3.1 document, generated from the routes and the pydantic models their
handlers use, so the document cannot drift from the API."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import TypeAdapter

from vecron_api.problems import PROBLEM
from vecron_api.routing import Route

REF = "#/components/schemas/{model}"
_NAME = re.compile(r"[^A-Za-z0-9._-]")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists every problem with its field.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable code of the problem."},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "source": {"type": "string"},
        "hint": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "params": {"type": "object"},
                    "source": {"type": "string"},
                },
            },
        },
    },
}

REASONS = {
    400: "The body is not well-formed.",
    401: "No valid credentials.",
    403: "The caller lacks the permission (x-permission).",
    404: "No such object.",
    409: "The request conflicts with the object's state.",
    413: "The body is too large.",
    415: "The body's media type is not accepted.",
    422: "Invalid input: every problem is listed with its field.",
    429: "Too many attempts; retry after Retry-After seconds.",
    503: "A backend does not answer.",
}


class _Schemas:
    def __init__(self, named: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
        for name, schema in (named or {}).items():
            self.name(name, schema)

    def name(self, name: str, schema: dict[str, Any]) -> None:
        """Document ``schema`` (a whole JSON Schema, its ``$defs`` inside) as component
        ``name``, in place of any model of that title; its definitions become components
        ``<name>_<definition>``."""
        text = json.dumps({k: v for k, v in schema.items() if k != "$schema"})
        definitions = schema.get("$defs", {})
        for inner in definitions:
            text = text.replace(f'"#/$defs/{inner}"', f'"{REF.format(model=f"{name}_{inner}")}"')
        rewritten = json.loads(text)
        for inner, definition in rewritten.pop("$defs", {}).items():
            self.components[f"{name}_{inner}"] = definition
        self.components[name] = rewritten

    def of(self, annotation: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        title = schema.get("title")
        if isinstance(annotation, type) and title and schema.get("type") == "object":
            # A component name is [a-zA-Z0-9._-]+ (OpenAPI 3.1): Page[JobSummary] is not.
            name = _NAME.sub("_", title)
            self.components.setdefault(name, schema)
            return {"$ref": REF.format(model=name)}
        return schema


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": REASONS.get(status, "An error."),
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def error_statuses(route: Route) -> list[int]:
    """The error statuses ``route`` documents: those every route of its shape may answer,
    and its own."""
    found = set(route.errors)
    if not route.public:
        found.add(401)
    if route.permission is not None:
        found.add(403)
    if route.path_params:
        found |= {404, 422}
    if route.body is not None:
        found |= {400, 413, 415, 422}
    if route.query is not None:
        found.add(422)
    return sorted(found)


def operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "x-permission": None if route.permission is None else route.permission.value,
        "security": [] if route.public else [{"bearer": []}],
    }
    if route.description:
        op["description"] = route.description
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, **route.path_schemas.get(name, {})},
        }
        for name in route.path_params
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF, mode="validation")
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            entry: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k != "title"},
            }
            if "description" in prop:
                entry["description"] = prop["description"]
            params.append(entry)
        for name, definition in schema.get("$defs", {}).items():
            schemas.components.setdefault(name, definition)
    params += [extra for extra in _header_params(route)]
    if params:
        op["parameters"] = params
    if route.body is not None:
        body_schema = schemas.of(route.body, "validation")
        op["requestBody"] = {
            "required": route.body_required,
            "content": {media: {"schema": body_schema} for media in route.body_types},
        }
    responses: dict[str, Any] = {}
    if route.response is None and route.response_type is None:
        responses[str(route.status)] = {"description": route.summary}
    elif route.response_type is not None:
        responses[str(route.status)] = {
            "description": route.summary,
            "content": {route.response_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    else:
        content = {"application/json": {"schema": schemas.of(route.response, "serialization")}}
        for status in (route.status, *route.also):
            responses[str(status)] = {"description": route.summary, "content": content}
    for status in error_statuses(route):
        responses[str(status)] = _problem(status)
    op["responses"] = responses
    return op


def _header_params(route: Route) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
        for name, description in route.headers
    ]


def build_document(
    routes: Sequence[Route], named: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """OpenAPI 3.1 for ``routes``; ``named`` schemas replace the models of those titles
    (the job document's, which the installed plugins make)."""
    schemas = _Schemas(named)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = operation(route, schemas)
    tags = sorted({route.tag for route in routes})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vecron API",
            "version": _version(),
            "description": "Jobs, executions, variables and schedules of vecron. Every "
            "operation names the permission it needs (x-permission); errors are RFC 9457 "
            "problem details.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _version() -> str:
    try:
        return version("vecron-api")
    except PackageNotFoundError:
        return "0"
