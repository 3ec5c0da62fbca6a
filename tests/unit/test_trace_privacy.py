"""Nothing personal in traces: every function's handler runs on its committed events (and on failures whose
text quotes a person) with the X-Ray SDK enabled as in Lambda, and what it would send to the daemon is
recorded at the socket and searched for every personal value the requests, records and answers held:
emails, phones, names, ID digits, card fingerprints, receipt codes, claim tokens and links."""

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Tracer
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder  # imported outside the Lambda environment: the plain context
from aws_xray_sdk.core.models.entity import Entity
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment

import app_api
import linker
import org_api
import partner_webhooks
from customer_profiles.domain.sales import pos
from customer_profiles.edge import tracing
from customer_profiles.edge.logs import PERSONAL_FIELDS
from tests.unit.conftest import FakeContext
from tests.unit.test_events_dir import ALL_EVENTS, load, prepare

HANDLERS = {"app-api-": app_api, "org-api-": org_api, "partner-webhooks-": partner_webhooks, "linker-": linker}
SECRET_FIELDS = {"receipt_code", "claim_url", "code", "token"}  # besides the personal ones the logs mask
EMAIL, PHONE, NAME = "quirina.tracewell@example.org", "+447700900321", "Quirina"
SHORTEST = 4  # shorter values ("Bo") would be found in any text


def personal_values(value: Any, *, personal: bool = False) -> set[str]:
    """Every string held under a personal or secret field, at any depth (also in JSON held in a string)."""
    if isinstance(value, dict):
        return {
            found
            for key, item in value.items()
            for found in personal_values(item, personal=personal or str(key).lower() in PERSONAL_FIELDS | SECRET_FIELDS)
        }
    if isinstance(value, list):
        return {found for item in value for found in personal_values(item, personal=personal)}
    if isinstance(value, str):
        if value.lstrip()[:1] in ("{", "["):
            try:
                return personal_values(json.loads(value), personal=personal)
            except ValueError:
                pass
        return {value} if personal and len(value) >= SHORTEST else set()
    return set()


class Sent:
    """What the recorder sends to the daemon, one document per entity."""

    def __init__(self) -> None:
        self.documents: list[str] = []
        self.metadata: list[str] = []
        self.open = False

    def begin(self) -> None:
        xray_recorder.begin_segment("customer-profiles-test", sampling=1)
        self.open = True

    def end(self) -> None:
        if self.open:
            xray_recorder.end_segment()
            self.open = False

    def text(self) -> str:
        self.end()
        return "\n".join(self.documents)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """The functions' Tracer made as in Lambda (tracing on), inside one sampled segment, its socket recorded."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # Powertools traces only in Lambda
    for name in ("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "POWERTOOLS_TRACER_CAPTURE_ERROR"):
        monkeypatch.delenv(name, raising=False)  # Powertools' defaults (capture both): the code must say no
    enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)  # a disabled Tracer made by an earlier test turned the SDK off
    Tracer._reset_config()
    tracing.powertools_tracer.cache_clear()
    recorded = Sent()
    tracer = tracing.powertools_tracer()
    assert not tracer.disabled
    monkeypatch.setattr(xray_recorder.emitter, "_send_data", recorded.documents.append)
    original = Entity.put_metadata

    def put_metadata(entity: Entity, key: str, value: Any, namespace: str = "default") -> None:
        recorded.metadata.append(key)
        original(entity, key, value, namespace)

    monkeypatch.setattr(Entity, "put_metadata", put_metadata)
    recorded.begin()
    yield recorded
    recorded.end()
    Tracer._reset_config()
    tracing.powertools_tracer.cache_clear()
    global_sdk_config.set_sdk_enabled(enabled)


def root_logged(caplog: pytest.LogCaptureFixture) -> str:
    """What reaches the root logger's handlers from other loggers than ours: in Lambda, the runtime's own
    handler prints it unmasked (Powertools keeps our service's records off it)."""
    others = [r for r in caplog.records if not r.name.startswith(os.environ["POWERTOOLS_SERVICE_NAME"])]
    return "\n".join(caplog.handler.format(r) for r in others)


def sent_documents(sent: Sent) -> list[dict[str, Any]]:
    return [json.loads(d.split("\n", 1)[1]) for d in sent.documents]


def published() -> list[dict[str, Any]]:
    sink = Path(os.environ["LOCAL_EVENT_SINK"])
    return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []


TRACED_EVENTS = [n for n in ALL_EVENTS if not n.startswith("authorizer")]  # the authorizer has no Tracer


def appears(value: str, text: str) -> bool:
    """`value` in `text`; a short number (ID digits) only standing alone, not inside a hex id of a trace."""
    if value.isdigit() and len(value) < 8:
        return re.search(rf"(?<![0-9A-Za-z]){value}(?![0-9A-Za-z])", text) is not None
    return value in text


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@pytest.mark.parametrize("name", TRACED_EVENTS)
def test_no_personal_value_reaches_a_trace(name, store, sent, caplog):
    # Given a committed event with what it needs (a sale, a claim, a receipt code), through its function
    caplog.set_level(logging.WARNING)
    module = next(m for prefix, m in HANDLERS.items() if name.startswith(prefix))
    event = load(name)
    prepare(name, event, store)

    # When it is handled and what the recorder sent is read
    answer = module.handler(event, FakeContext())
    text = sent.text()

    # Then the function was traced, its DynamoDB calls too, with no answer or error as metadata...
    names = {d.get("name") for d in sent_documents(sent)}
    assert {"## handler", "dynamodb"} <= names, names
    assert sent.metadata == []
    # ...and no value it was given, answered or published (contacts, claim links) is in any of it
    held = personal_values(event) | personal_values(answer) | personal_values(published())
    assert held, "the event held no personal value: nothing was checked"
    assert sorted(v for v in held if appears(v, text)) == []
    # and no other library logged any of it where Lambda's own (unmasked) handler would print it
    assert sorted(v for v in held if appears(v, root_logged(caplog))) == []


def test_the_secrets_a_request_holds_are_among_the_values_searched():
    receipt = load("app-api-post-receipt.json")
    receipt["pathParameters"] = {"code": "ABCD-EFGH-JKMN-P"}
    link = {"detail": {"claim_url": "https://tickets.example.com/claim/tok3n"}}

    assert personal_values(receipt) >= {"ABCD-EFGH-JKMN-P", "alice@example.com", "+447911123456"}
    assert "https://tickets.example.com/claim/tok3n" in personal_values(link)


@pytest.mark.usefixtures("aws", "reset_handler_caches")
def test_a_failure_quoting_a_person_is_traced_by_its_type_only(store, sent, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)

    # Given a sale whose domain fails with the customer's email, phone and name in the error's text
    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"cannot sell to {EMAIL} / {PHONE} / {NAME}")

    monkeypatch.setattr(pos, "create_pos_sale", crash)
    assert org_api.handler(load("org-api-post-pos-sale.json"), FakeContext())["statusCode"] == 500

    # and a stream record whose effect fails with them
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError(f"no holder for {EMAIL} ({PHONE}, {NAME})")

    monkeypatch.setattr(linker, "handle_change", broken)
    with pytest.raises(Exception, match="All records failed"):
        linker.handler(load("linker-user-registered.json"), FakeContext())

    # When what the recorder sent is read
    text = sent.text()

    # Then both failures are traced, by their type, and neither's text nor any value in it is
    faults = [e for d in sent_documents(sent) for e in d.get("cause", {}).get("exceptions", [])]
    assert {"RuntimeError", "ValueError"} <= {e["type"] for e in faults}
    assert all("message" not in e for e in faults)
    assert sent.metadata == []
    for value in (EMAIL, PHONE, NAME):
        assert value not in text
        assert value not in root_logged(caplog)


def test_the_emitter_drops_metadata_and_exception_text_that_the_sdk_would_send():
    # Given a subsegment holding an answer as metadata and a failure whose text quotes a person
    segment = Segment("test", sampled=True)
    subsegment = Subsegment("## get_me", "local", segment)
    subsegment.put_metadata("get_me response", {"email": EMAIL}, "customer-profiles")
    try:
        raise ValueError(f"no such person: {EMAIL}")
    except ValueError as error:
        subsegment.add_exception(error, [("app_api.py", 1, "get_me", "get_me()")])
    segment.add_subsegment(subsegment)

    # When it is serialised as the SDK would, and as the private emitter does
    raw = segment.serialize()
    private = json.dumps(tracing.private_entity(segment.to_dict()))

    # Then the SDK alone would send the value twice; the emitter keeps the failure's type and stack only
    assert raw.count(EMAIL) == 2
    assert EMAIL not in private
    (kept,) = json.loads(private)["subsegments"]
    assert "metadata" not in kept
    assert [(e["type"], e["stack"][0]["label"]) for e in kept["cause"]["exceptions"]] == [("ValueError", "get_me")]
