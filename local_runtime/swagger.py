"""Swagger UI for the local runtime at /swagger: the committed docs/openapi.json, browsable and callable, with
Swagger UI's own assets from node_modules (npm `swagger-ui-dist`), so nothing loads from a CDN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, abort, request, send_from_directory

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "node_modules" / "swagger-ui-dist"
DOCUMENT = ROOT / "docs" / "openapi.json"
SERVED_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Customer profile service - API</title>
  <link rel="stylesheet" href="/swagger/assets/swagger-ui.css">
  <link rel="icon" href="/swagger/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/swagger/assets/swagger-ui-bundle.js"></script>
  <script src="/swagger/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/swagger/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
      persistAuthorization: true,
    });
  </script>
</body>
</html>
"""


def register(app: Any) -> None:
    """Adds /swagger, its document (with this server as its base URL) and its assets to the gateway's app."""

    def page() -> Response:
        return Response(PAGE, mimetype="text/html")

    def document() -> Response:
        spec = json.loads(DOCUMENT.read_text())
        spec["servers"] = [{"url": request.host_url.rstrip("/"), "description": "this local runtime"}]
        return Response(json.dumps(spec), mimetype="application/json")

    def asset(name: str) -> Response:
        if name not in SERVED_ASSETS:
            abort(404)
        return send_from_directory(ASSETS, name)

    app.add_url_rule("/swagger", "swagger_page", page, methods=["GET"])
    app.add_url_rule("/swagger/openapi.json", "swagger_document", document, methods=["GET"])
    app.add_url_rule("/swagger/assets/<name>", "swagger_asset", asset, methods=["GET"])
