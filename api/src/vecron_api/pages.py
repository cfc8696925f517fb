"""The OpenAPI document and the human API reference (vendored Redoc, no CDN)."""

from __future__ import annotations

from aiohttp import web

from vecron_api.keys import OPENAPI

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vecron API reference</title>
</head>
<body>
<div id="reference"></div>
<script src="static/redoc/redoc.standalone.js"></script>
<script src="static/docs.js"></script>
</body>
</html>
"""


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_HTML, content_type="text/html")
