"""The served ``/api/v1/openapi.json`` is valid OpenAPI 3.1 and matches the app exactly:
every route is documented, every documented operation exists and names its permission
(``x-permission``), and the human reference at ``/api/v1/docs`` runs on local files only."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.api.harness import PREFIX, Api
from vecron import Permission

#: Routes of the app that are not API operations, and why they are not in the document.
NOT_OPERATIONS = {
    ("GET", f"{PREFIX}/openapi.json"): "the document itself",
    ("GET", f"{PREFIX}/docs"): "the human reference page rendering the document",
    ("GET", f"{PREFIX}/static"): "the reference page's vendored scripts (a static folder)",
    ("GET", "/healthz"): "the liveness probe (outside the API, no credentials)",
    ("GET", "/readyz"): "the readiness probe (outside the API, no credentials)",
    ("GET", "/metrics"): "Prometheus's scrape (outside the API, no credentials)",
}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


async def served_document(api: Api) -> dict[str, Any]:
    answer = await api.client.get(f"{PREFIX}/openapi.json")
    assert answer.status == 200
    assert answer.content_type == "application/json"
    found: dict[str, Any] = await answer.json()
    return found


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def app_routes(api: Api) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves; HEAD twins of GET routes and
    aiohttp's ``*`` routes left out."""
    found = set()
    for route in api.client.app.router.routes():
        if route.method in ("HEAD", "*"):
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or info.get("prefix")
        assert path, f"a route without a path: {route!r}"
        found.add((route.method, path))
    return found


async def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    document = await served_document(api)
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["info"]["title"] and document["info"]["version"]
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids)), "operation ids must be unique"


async def test_every_route_is_documented_and_every_documented_operation_exists(
    api: Api,
) -> None:
    documented = set(operations(await served_document(api)))
    served = app_routes(api)
    undocumented = served - documented - set(NOT_OPERATIONS)
    assert not undocumented, f"routes missing from the OpenAPI document: {sorted(undocumented)}"
    missing = documented - served
    assert not missing, f"documented operations the app does not serve: {sorted(missing)}"
    assert set(NOT_OPERATIONS) <= served, "the list of non-operations names a gone route"


async def test_every_documented_operation_answers_and_guards_itself(api: Api) -> None:
    """Called without credentials, an operation answers 401 (problem JSON) unless it is
    public; a public one answers something of its own, never an unknown route or method."""
    import re

    for (method, path), op in operations(await served_document(api)).items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        answer = await api.client.request(method, concrete)
        body = await answer.json(content_type=None) if answer.content_length != 0 else {}
        assert body.get("code") not in ("route-not-found", "method-not-allowed"), (method, path)
        if op["security"]:
            assert answer.status == 401, (method, path, answer.status)
            assert answer.content_type == "application/problem+json"


async def test_every_operation_names_its_permission_and_its_answers(api: Api) -> None:
    known = {p.value for p in Permission}
    document = await served_document(api)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for (method, path), op in operations(document).items():
        where = f"{method} {path} ({op.get('operationId')})"
        assert op.get("operationId") and op.get("summary") and op.get("tags"), where
        assert "x-permission" in op, f"{where} does not name its permission"
        permission = op["x-permission"]
        assert permission is None or permission in known, where
        public = op["security"] == []
        responses = op["responses"]
        successes = [status for status in responses if status.startswith("2")]
        assert successes, f"{where} documents no success"
        if public:
            assert permission is None, f"{where} is public yet needs {permission}"
        else:
            assert op["security"] == [{"bearer": []}], where
            assert "401" in responses, f"{where} does not document 401"
        if permission is not None:
            assert "403" in responses, f"{where} needs {permission} but does not document 403"
        for status, answer in responses.items():
            if not status.startswith("2"):
                content = answer["content"]
                assert list(content) == ["application/problem+json"], (where, status)
                ref = content["application/problem+json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Problem", (where, status)
        if "{" in path:
            assert "404" in responses, f"{where} has path parameters but no 404"
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= set(responses), where


#: pydantic's names of constraints, which JSON Schema does not know (it would ignore them).
NOT_JSON_SCHEMA = frozenset({"ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of"})


def misnamed_keywords(node: Any, path: str = "") -> list[str]:
    """Where a schema of ``node`` uses a pydantic constraint name as a keyword."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NOT_JSON_SCHEMA and not path.endswith("/properties"):
                found.append(f"{path}/{key}")
            found += misnamed_keywords(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += misnamed_keywords(value, f"{path}/{index}")
    return found


async def test_every_constraint_is_a_json_schema_keyword(api: Api) -> None:
    """A constraint the document names in pydantic's words binds no client (the
    validator lets unknown keywords pass): ``ge`` must be ``minimum``."""
    assert misnamed_keywords(await served_document(api)) == []


def texts(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, text) of every description and summary in ``node``."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                found.append((f"{path}/{key}", value))
            else:
                found += texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += texts(value, f"{path}/{index}")
    return found


async def test_no_description_holds_what_the_reference_page_takes_for_html(api: Api) -> None:
    """Descriptions are Markdown on the reference page: ``job:<name>`` outside code would
    be an HTML tag and vanish."""
    import re

    tagged = [
        (where, text)
        for where, text in texts(await served_document(api))
        if re.search(r"<[A-Za-z/!]", re.sub(r"`[^`]*`", "", text))
    ]
    assert tagged == []


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "script":
            self.scripts.append(given.get("src"))
            self._in_script = given.get("src") is None
        elif tag == "link" and given.get("href"):
            self.links.append(given["href"] or "")
        elif tag in ("img", "iframe") and given.get("src"):
            self.links.append(given["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


async def test_the_reference_page_runs_on_local_files_only(api: Api) -> None:
    page = await api.client.get(f"{PREFIX}/docs")
    assert page.status == 200
    assert page.content_type == "text/html"
    assets = _Assets()
    assets.feed(await page.text())
    assert assets.scripts, "the reference page loads no script"
    assert None not in assets.scripts and not assets.inline, "inline scripts break its CSP"
    base = f"{PREFIX}/docs"
    for reference in [*assets.scripts, *assets.links]:
        assert reference is not None
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc, f"{reference} is not a local file"
        path = urljoin(base, reference)
        answer = await api.client.get(path)
        assert answer.status == 200, path
        content = await answer.read()
        assert len(content) > 0, path
        if reference.endswith(".js"):
            assert "javascript" in answer.content_type, (path, answer.content_type)
    # The page's own script fetches the document it renders from this server.
    script = await (await api.client.get(f"{PREFIX}/static/docs.js")).text()
    assert '"openapi.json"' in script and "http" not in script
