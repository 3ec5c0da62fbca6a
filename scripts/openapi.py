"""Generates the API's OpenAPI document from the code (each API function's resolver) into docs/openapi.json.

`--check` fails when the committed document drifted from the code (run by `make lint`).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_FUNCTIONS = {
    "app_api": "App API (user tokens)",
    "org_api": "Org API (staff tokens)",
    "partner_webhooks": "Partner webhooks (signed)",
}
DOCUMENT = ROOT / "docs" / "openapi.json"


def generate() -> str:
    sys.path[:0] = [str(ROOT / "layers" / "common"), *(str(ROOT / "functions" / f) for f in API_FUNCTIONS)]
    from customer_profiles.edge.config import placeholders

    # The functions refuse to start without their settings; describing their routes needs no real values.
    os.environ.update({**placeholders("unused-to-describe-the-api"), **os.environ})
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for module_name in API_FUNCTIONS:
        schema = (
            importlib.import_module(module_name)
            .app.get_openapi_schema(title="Customer profile service", version="1.0.0")
            .model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        for path, operations in schema.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(schema.get("components", {}).get("schemas", {}))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Customer profile service", "version": "1.0.0"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


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
