"""Every file in events/ goes through its handler and gets a meaningful answer."""

import json
from pathlib import Path

import pytest

import app_api
import linker
import org_api
import partner_webhooks
from tests.unit.conftest import EVENTS_DIR, FakeContext

API_HANDLERS = {"app-api-": app_api, "org-api-": org_api, "partner-webhooks-": partner_webhooks}
ALL_EVENTS = sorted(p.name for p in EVENTS_DIR.glob("*.json"))


def test_every_function_has_at_least_one_event():
    prefixes = {name.split("-")[0] for name in ALL_EVENTS}
    assert {"authorizer", "app", "org", "partner", "linker"} <= prefixes


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@pytest.mark.parametrize("name", [n for n in ALL_EVENTS if n.startswith(tuple(API_HANDLERS))])
def test_api_events_are_answered_without_a_server_error(name):
    module = next(m for prefix, m in API_HANDLERS.items() if name.startswith(prefix))
    event = json.loads((EVENTS_DIR / name).read_text())

    # The committed user registers and buys once, so every route has something to answer with.
    for setup in ("app-api-put-me.json", "app-api-post-order.json"):
        app_api.handler(json.loads((EVENTS_DIR / setup).read_text()), FakeContext())
    response = module.handler(event, FakeContext())

    assert response["statusCode"] in (200, 201), response["body"]
    assert isinstance(json.loads(response["body"]), dict)


@pytest.mark.usefixtures("aws")
def test_the_linker_event_publishes_user_registered(tmp_path: Path):
    event = json.loads((EVENTS_DIR / "linker-user-registered.json").read_text())

    result = linker.handler(event, FakeContext())

    assert result == {"batchItemFailures": []}
    published = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(e["detail-type"], e["detail"]["user_id"]) for e in published] == [
        ("UserRegistered", "3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60")
    ]
