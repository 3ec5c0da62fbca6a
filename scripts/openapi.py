"""Generates the API's OpenAPI document from the code (each API function's resolver) into docs/openapi.json.

`--check` fails when the committed document drifted from the code (run by `make lint`).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_FUNCTIONS = {
    "app_api": "App API (user tokens)",
    "org_api": "Org API (staff tokens)",
    "partner_webhooks": "Partner webhooks (signed)",
}
DOCUMENT = ROOT / "docs" / "openapi.json"
NO_CONTENT = {"204", "304"}  # answers without a body
SECURITY_SCHEMES_DOCUMENT = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An ID token (or an access token of a registered user) from the identity provider",
    },
    "webhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Standard Webhooks: v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body> with the "
        "partner's secret (whsec_...), with the webhook-id and webhook-timestamp headers",
    },
    "partnerApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The partner's API key (in AWS; the local runtime does not check it)",
    },
}


def _security_schemes() -> dict:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, HTTPBearer

    return {
        "bearer": HTTPBearer(bearerFormat="JWT"),
        "webhookSignature": APIKey(name="webhook-signature", **{"in": "header"}),
        "partnerApiKey": APIKey(name="x-api-key", **{"in": "header"}),
    }


def generate() -> str:
    sys.path[:0] = [str(ROOT / "layers" / "common"), *(str(ROOT / "functions" / f) for f in API_FUNCTIONS)]
    from customer_profiles.edge.config import placeholders

    # The functions refuse to start without their settings; describing their routes needs no real values.
    os.environ.update({**placeholders("unused-to-describe-the-api"), **os.environ})
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for module_name in API_FUNCTIONS:
        module = importlib.import_module(module_name)
        schema = module.app.get_openapi_schema(
            title="Customer profile service", version="1.0.0", security_schemes=_security_schemes()
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, operations in schema.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(schema.get("components", {}).get("schemas", {}))
        # Bodies a route reads raw (a signed webhook) are declared by its module, documented here.
        # A tuple of models: the body is one of them.
        for (path, method), declared in getattr(module, "DOCUMENTED_BODIES", {}).items():
            models = declared if isinstance(declared, tuple) else (declared,)
            for model in models:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(body.pop("$defs", {}))
                schemas[model.__name__] = body
            refs = [{"$ref": f"#/components/schemas/{model.__name__}"} for model in models]
            paths[path][method]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}},
            }
    # Powertools documents a 500 of its own shape for response validation; our error handler answers every
    # 500 in the one error shape. A 204 has no content (HTTP says so); Powertools documents the route's return
    # annotation (`Response[None]`) as a JSON `null`, which generated clients would then try to read.
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for operations in paths.values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if status in NO_CONTENT:
                    answer.pop("content", None)
            answer = operation["responses"].get("500", {})
            if answer.get("content", {}).get("application/json", {}).get("schema") != error:
                operation["responses"]["500"] = {
                    "description": "Internal Server Error",
                    "content": {"application/json": {"schema": error}},
                }
    schemas = _referenced(paths, schemas)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Customer profile service", "version": "1.0.0"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES_DOCUMENT,
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _referenced(paths: dict, schemas: dict) -> dict:
    """The schemas the paths reach, directly or through other schemas."""
    keep: set[str] = set()
    pending = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(paths))
    while pending:
        name = pending.pop()
        if name not in keep:
            keep.add(name)
            pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    return {name: schema for name, schema in schemas.items() if name in keep}


def main() -> int:
    text = generate()
    if "--check" in sys.argv:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run `make openapi` and commit it", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
