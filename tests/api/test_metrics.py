"""The API's answers in ``/metrics``: by method, route template and status — never the
raw path, so ids and a scanner's made-up paths do not make new series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.api.harness import PREFIX, Api


async def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = await api.client.get("/metrics")
    assert answer.status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await answer.text())
        for sample in family.samples
    }


def requests(method: str, route: str, status: int) -> tuple[str, frozenset[tuple[str, str]]]:
    labels = {"method": method, "route": route, "status": str(status)}
    return "api_requests_total", frozenset(labels.items())


async def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    c = api.client
    for job_ref in ("one", "two", "three"):  # three paths, one route
        assert (await c.get(f"{PREFIX}/jobs/{job_ref}", headers=api.auth())).status == 404
    assert (await c.get(f"{PREFIX}/jobs")).status == 401
    assert (await c.get(f"{PREFIX}/jobs", headers=api.auth())).status == 200
    for path in ("/wp-admin", "/.env", f"{PREFIX}/nope/1"):
        assert (await c.get(path)).status == 404
    assert (await c.request("PROPFIND", f"{PREFIX}/jobs")).status == 405
    found = await scrape(api)
    jobs = f"{PREFIX}/jobs"
    assert found[requests("GET", f"{jobs}/{{name}}", 404)] == 3
    assert found[requests("GET", jobs, 401)] == 1
    assert found[requests("GET", jobs, 200)] == 1
    assert found[requests("GET", "<unmatched>", 404)] == 3
    # A method no route takes matches no route either (aiohttp answers 405 itself).
    assert found[requests("OTHER", "<unmatched>", 405)] == 1
    routes = {dict(labels)["route"] for name, labels in found if name == "api_requests_total"}
    assert routes == {jobs, f"{jobs}/{{name}}", "<unmatched>"}  # the scrape counts after it
    latency = (
        "api_request_duration_seconds_count",
        frozenset({"method": "GET", "route": jobs}.items()),
    )
    assert found[latency] == 2
