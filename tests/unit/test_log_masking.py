"""No personal data in clear in any log line: a sale, a reseller order, a sign-up, a claim and a stream batch,
each with every personal field, through each handler, with its whole event logged (what
POWERTOOLS_LOGGER_LOG_EVENT writes), an unhandled error carrying the values, and a failing stream record
keyed by an identifier. The captured output of the functions' own log handler is then searched."""

import io
import json
import re

import pytest

import app_api
import authorizer
import linker
import org_api
import partner_webhooks
from customer_profiles.domain import pos
from customer_profiles.domain.memberships import grant
from customer_profiles.edge.logs import MASK, mask
from tests.support.tokens import FakeIdp
from tests.unit.conftest import FakeContext, api_event, user_principal
from tests.unit.test_events_dir import load, sign_partner_event

EMAIL = "zebedee.quill@example.org"
PHONE_TYPED, PHONE = "+44 7911 123 987", "+447911123987"
GIVEN, FAMILY = "Zebedee", "Quixote-Marl"
LAST_DIGITS = "4417"
BIRTH_DATE = "1987-03-14"
BUYER_EMAIL, BUYER_PHONE = "ondine.buyer@example.net", "+33612345678"


@pytest.fixture
def log_output(monkeypatch):
    """Everything the functions' log handler writes (every module's Logger shares it)."""
    buffer = io.StringIO()
    handler = org_api.logger.registered_handler
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def customer():
    return {
        "email": EMAIL,
        "phone": PHONE_TYPED,
        "given_name": GIVEN,
        "family_name": FAMILY,
        "id_document": {"type": "passport", "last_digits": LAST_DIGITS},
    }


def sale_event():
    event = api_event("org-api-post-pos-sale.json")
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, "customer": customer()})
    return event


def run_logged(module, event):
    module.logger.info(event)  # what the handler's inject_lambda_context logs with log_event on
    return module.handler(event, FakeContext())


@pytest.mark.usefixtures("aws", "reset_handler_caches")
def test_no_personal_value_reaches_a_log_line(store, log_output, monkeypatch, tmp_path):
    # A sale with every personal field, then the same sale failing with the values in the error's text
    grant(store, "org-demo", "local-staff-bob", ["pos"])  # the committed event's till
    assert run_logged(org_api, sale_event())["statusCode"] == 201

    def crash(*args, **kwargs):
        raise RuntimeError(f"cannot sell to {EMAIL} / {PHONE} / {GIVEN} {FAMILY}: Bearer eyJhbGciOi.eyJzdWIi.sig")

    monkeypatch.setattr(pos, "create_pos_sale", crash)
    failing = sale_event()
    failing["headers"]["Idempotency-Key"] = "another-key"
    assert run_logged(org_api, failing)["statusCode"] == 500

    # A reseller's order with its buyer, and the buyer's claim by path token
    webhook = load("partner-webhooks-post-order.json")
    body = json.loads(webhook["body"])
    body["buyer"] = {"email": BUYER_EMAIL, "phone": BUYER_PHONE, "given_name": GIVEN, "family_name": FAMILY}
    webhook["body"] = json.dumps(body)
    sign_partner_event(webhook, store)
    assert run_logged(partner_webhooks, webhook)["statusCode"] == 201
    signature = webhook["headers"]["webhook-signature"]

    # A sign-up whose token verified the email and phone, and the authorizer seeing the token itself
    person = user_principal(email=EMAIL, email_verified=True, phone_number=PHONE, phone_number_verified=True)
    assert run_logged(app_api, api_event("app-api-put-me.json", principal=person))["statusCode"] in (200, 201)
    idp = FakeIdp.create(tmp_path)
    jwt = idp.token("zebedee", email=EMAIL, given_name=GIVEN)
    authorizer_event = load("authorizer-request.json")
    authorizer_event["headers"]["Authorization"] = f"Bearer {jwt}"
    authorizer.logger.info(authorizer_event)

    # A stream record keyed by an identifier that fails, with its images
    failing_record = load("linker-user-registered.json")
    record = failing_record["Records"][0]["dynamodb"]
    record["Keys"] = {"pk": {"S": f"IDENT#email#{EMAIL}"}, "sk": {"S": "IDENT"}}
    record["NewImage"].update(
        {
            "email": {"S": EMAIL},
            "attributes": {"M": {"given_name": {"S": GIVEN}, "birth_date": {"S": BIRTH_DATE}}},
            "sk": {"S": f"SEARCH#name#{GIVEN}"},
        }
    )

    def broken(*args, **kwargs):
        raise ValueError(f"no holder for {EMAIL} ({PHONE})")

    monkeypatch.setattr(linker, "handle_change", broken)
    linker.logger.info(failing_record)
    with pytest.raises(Exception, match="All records failed"):  # a whole failed batch is raised, for a retry
        linker.handler(failing_record, FakeContext())

    logged = log_output.getvalue()
    assert len(logged.splitlines()) >= 8 and MASK in logged
    for value in (EMAIL, BUYER_EMAIL, PHONE, PHONE_TYPED, BUYER_PHONE, GIVEN, FAMILY, BIRTH_DATE, jwt, signature):
        assert value not in logged, value
    assert not re.search(rf"(?<![0-9a-f]){LAST_DIGITS}(?![0-9a-f])", logged)
    assert "whsec_" not in logged and "eyJhbGciOi" not in logged


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("2026-12-01T10:58:55.123Z", True),  # timestamps stay
        ("49612345678901234567890123", True),  # stream sequence numbers stay
        ("3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60", True),  # ids stay
        ("ORG#org-demo#PROFILE#p-1", True),
        ("call 07911123456 now", False),
        ("+1 (415) 555-0100", False),
        ("/v1/claims/" + "A" * 43, False),
    ],
)
def test_masking_keeps_what_operators_need(text, kept):
    assert (mask(text) == text) is kept
