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
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff.memberships import grant
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


PICTURE = "https://cdn.example.net/faces/zebedee-quill.jpg"
FINGERPRINT = "fp_zq8841c0ffee"


def stream_record_of(item, *, failing_key=None):
    """A MODIFY record of a stored item, as the stream carries it (typed images)."""
    from boto3.dynamodb.types import TypeSerializer

    typed = {k: TypeSerializer().serialize(v) for k, v in item.items()}
    keys = {"pk": typed["pk"], "sk": typed["sk"]}
    return {
        "eventID": "masking-1",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764086400,
            "Keys": keys,
            "NewImage": typed,
            "OldImage": typed,
            "SequenceNumber": failing_key or "4200",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


@pytest.mark.usefixtures("aws", "reset_handler_caches")
def test_receipt_codes_claim_tokens_pictures_cards_and_keys_reach_no_log_line(store, log_output, monkeypatch):
    from customer_profiles.domain.claims.claim_tokens import claim_token

    # Given an anonymous sale paid by card (its receipt code in the answer), logged as a careless line would
    sale = api_event("org-api-post-pos-sale.json")
    body = json.loads(sale["body"])
    sale["body"] = json.dumps({**body, "payment_method": "card", "customer": {"card_fingerprint": FINGERPRINT}})
    answer = json.loads(run_logged(org_api, sale)["body"])
    code = answer["receipt_code"]
    org_api.logger.info({"answer": answer})
    org_api.logger.info(f"printed {code} for the till")

    # and its redemption, typed in lower case, logged whole (path and path parameters), and again failing
    redeem = api_event("app-api-post-receipt.json")
    typed = code.lower()
    redeem["path"] = redeem["path"].replace("RECEIPT_CODE", typed)
    redeem["requestContext"]["path"] = redeem["requestContext"]["path"].replace("RECEIPT_CODE", typed)
    redeem["pathParameters"] = {"code": typed.replace("-", " ")}
    assert run_logged(app_api, redeem)["statusCode"] in (200, 201, 404, 410)

    # and a picture given to a profile, logged with the request and quoted by a failure
    app_api.handler(api_event("app-api-put-me.json"), FakeContext())
    app_api.handler(api_event("app-api-post-order.json"), FakeContext())
    patch = api_event("app-api-patch-my-org-profile.json")
    patch["body"] = json.dumps({"version": 1, "attributes": {"picture_url": PICTURE}})
    run_logged(app_api, patch)

    # and stream records keyed by the receipt's hash and by an identifier, failing
    items = store.db.table.scan()["Items"]
    receipt = next(i for i in items if i["pk"].startswith("RECEIPT#"))
    identifier = next(i for i in items if i["pk"].startswith("IDENT#email#"))
    card = next(i for i in items if "#CARD#" in i["pk"])

    def broken(*args, **kwargs):
        raise ValueError(f"cannot link {receipt['pk']} / {identifier['pk']} / {card['pk']}")

    monkeypatch.setattr(linker, "handle_change", broken)
    batch = {"Records": [stream_record_of(i, failing_key=str(n)) for n, i in enumerate((receipt, identifier, card))]}
    linker.logger.info(batch)
    with pytest.raises(Exception, match="All records failed"):
        linker.handler(batch, FakeContext())

    # and a claim token in free text
    token = claim_token("claim-1", b"a-server-key")
    linker.logger.warning(f"no claim for {token}; link {token} was resent")

    # Then none of them is in any line; the keys' kinds are (an identifier's key may be masked whole: its
    # record's images hold it under a personal field)
    logged = log_output.getvalue()
    hashed = receipt["pk"].removeprefix("RECEIPT#")
    secrets = (code, typed, typed.replace("-", " "), code.replace("-", ""), hashed, PICTURE, FINGERPRINT, token)
    for value in (*secrets, identifier["pk"].split("#", 2)[2]):
        assert value not in logged, value
    assert "RECEIPT#*****" in logged and "#CARD#*****" in logged


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
        ("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", True),  # request ids stay
        ("Root=1-5759e988-bd862e3fe1be46a994272793", True),  # trace ids stay
        ("PENDING#publish#registered#3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60", True),  # effects' keys stay
        ("receipt 7K3M-9QXR-2B4D-Z printed", False),
        ("receipt 7k3m-9qxr-2b4d-z typed", False),
        ("POST /v1/receipts/7k3m 9qxr 2b4d z", False),
        ("token " + "Ab_-" * 10 + "xyz", False),  # a claim token: 43 characters of base64url
        ("RECEIPT#" + "ab" * 32, False),
        ("IDENT#email#ann@example.com", False),
        ("IDENT#phone#+447911123456", False),
        ("ORG#o-1#CARD#fp_abc123", False),
        ("CLAIMS_TO#email#ann@example.com", False),
    ],
)
def test_masking_keeps_what_operators_need(text, kept):
    assert (mask(text) == text) is kept
