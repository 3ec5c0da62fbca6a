"""Every file in events/ goes through its handler and gets a meaningful answer."""

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import app_api
import linker
import org_api
import partner_webhooks
from customer_profiles.data.codec import user_to_item
from customer_profiles.data.stream_images import plain_image
from customer_profiles.domain.claims.claim_tokens import claim_token
from customer_profiles.domain.staff.memberships import grant
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.models.domain import Partner, Profile, User
from customer_profiles.ports.identity import ProfileChange
from tests.unit.conftest import EVENTS_DIR, FakeContext

API_HANDLERS = {"app-api-": app_api, "org-api-": org_api, "partner-webhooks-": partner_webhooks}
PARTNER_SECRET = "whsec_" + base64.b64encode(b"events-dir-test-secret-32-bytes!").decode()
ALL_EVENTS = sorted(p.name for p in EVENTS_DIR.glob("*.json"))
USER_EMAIL = "alice@example.com"  # the verified email of the app API events' caller (make_events.USER_CONTEXT)


def test_every_function_has_at_least_one_event():
    prefixes = {name.split("-")[0] for name in ALL_EVENTS}
    assert {"authorizer", "app", "org", "partner", "linker"} <= prefixes


def load(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text())


def sign_partner_event(event: dict, store) -> None:
    """The committed webhook event, signed now by a partner registered for the demo org."""
    secrets_file = Path(os.environ["LOCAL_PARTNER_SECRETS_FILE"])
    secrets_file.write_text(json.dumps({"partner-demo": [PARTNER_SECRET]}))
    store.put_partner(Partner(partner_id="partner-demo", display_name="Demo", org_ids=["org-demo"]), "t")
    signature = Webhook(PARTNER_SECRET).sign(event["headers"]["webhook-id"], datetime.now(UTC), event["body"])
    event["headers"].update(
        {"webhook-timestamp": str(int(datetime.now(UTC).timestamp())), "webhook-signature": signature}
    )


CLAIM_ROUTES = ("org-api-resend-claim.json", "org-api-cancel-claim.json")


def reseller_order(store, **changes) -> str:
    """The committed reseller's order (with `changes`), delivered: its claim's id."""
    webhook = load("partner-webhooks-post-order.json")
    if changes:  # another order: its own ids (the committed ones are the committed order's, once)
        changes = {"external_order_id": uuid.uuid4().hex, **changes}
        webhook["headers"]["webhook-id"] = f"msg_{uuid.uuid4().hex}"
    webhook["body"] = json.dumps({**json.loads(webhook["body"]), **changes})
    sign_partner_event(webhook, store)
    order_id = json.loads(partner_webhooks.handler(webhook, FakeContext())["body"])["order_id"]
    claim = next(i for i in store.db.table.scan()["Items"] if i.get("order_id") == order_id and i["type"] == "claim")
    return claim["claim_id"]


def prepare(name: str, event: dict, store) -> None:
    """Give each committed event something to act on: a registered user, a sale, real ids in the path."""
    # The staff events' caller is an admin and till of org-demo, as the table says (every staff write checks it).
    grant(store, "org-demo", "local-staff-bob", ["admin", "pos"])
    if name.startswith("linker-"):
        # what the committed records speak of: the pending effect itself, the users, the merged user's profile
        for record in event["Records"]:
            store.db.table.put_item(Item=plain_image(record["dynamodb"]["NewImage"]))
        merged, survivor = "5b2e9c4d7a1f4e3b9c8d2a6f0e1b3c5d", "3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60"
        for user_id, status in ((merged, "merged"), (survivor, "active")):
            store.db.table.put_item(
                Item=user_to_item(User(user_id=user_id, status=status, created_at="t", updated_at="t"))
            )
        profile = Profile(
            org_id="org-demo", profile_id="p-merged", user_id=merged, origin="pos", created_at="t", updated_at="t"
        )
        store.write_profiles(ProfileChange(None, profile))
        erasing = User(user_id="9a8b7c6d5e4f30211f2e3d4c5b6a7988", status="erasing", created_at="t", updated_at="t")
        store.db.table.put_item(Item=user_to_item(erasing))  # the person whose erasure the record carries on
    if name.startswith("partner-webhooks-"):
        sign_partner_event(event, store)
    if name == "partner-webhooks-post-order-cancelled.json":  # the order it cancels
        reseller_order(store)
    if name == "app-api-post-receipt.json":  # an anonymous cash sale's receipt code
        sale = load("org-api-post-pos-sale.json")
        sale["body"] = json.dumps({**json.loads(sale["body"]), "payment_method": "cash", "customer": {}})
        sale["headers"]["Idempotency-Key"] = f"receipt-{uuid.uuid4().hex}"  # another sale than the committed one
        code = json.loads(org_api.handler(sale, FakeContext())["body"])["receipt_code"]
        event["path"] = event["path"].replace("RECEIPT_CODE", code)
        event["pathParameters"] = {"code": code}
    if name == "app-api-post-claim.json":
        token = claim_token(reseller_order(store), claim_token_key())
        event["path"] = event["path"].replace("CLAIM_TOKEN", token)
        event["pathParameters"] = {"token": token}
    if name in ("app-api-get-my-claims.json", "app-api-post-accept-claim.json", *CLAIM_ROUTES):
        claim_id = reseller_order(store, buyer={"email": USER_EMAIL, "given_name": "Alice"})  # alice's
        event["path"] = event["path"].replace("CLAIM_ID", claim_id)
        if event["pathParameters"]:
            event["pathParameters"] = {k: v.replace("CLAIM_ID", claim_id) for k, v in event["pathParameters"].items()}
    if name.startswith("app-api-"):
        for setup in ("app-api-put-me.json", "app-api-post-order.json"):
            app_api.handler(load(setup), FakeContext())
    if "staff" in name:  # the event's caller is an admin of org-demo; carol is the member it changes
        grant(store, "org-demo", "local-staff-bob", ["admin", "pos"])
        grant(store, "org-demo", "local-staff-carol", ["viewer"])
    if name.startswith("org-api-") and name not in ("org-api-post-pos-sale.json", *CLAIM_ROUTES):
        sale = load("org-api-post-pos-sale.json")
        if name == "org-api-attach-identifier.json":  # needs an orphaned profile: an anonymous cash sale
            body = json.loads(sale["body"])
            sale["body"] = json.dumps({**body, "payment_method": "cash", "customer": {}})
            sale["headers"]["Idempotency-Key"] = "anonymous-cash-sale"
        created = json.loads(org_api.handler(sale, FakeContext())["body"])
        ids = {
            "PROFILE_ID": created["profile"]["profile_id"],
            "ENTITLEMENT_ID": created["entitlements"][0]["entitlement_id"],
        }
        for placeholder, value in ids.items():
            event["path"] = event["path"].replace(placeholder, value)
            event["pathParameters"] = {k: v.replace(placeholder, value) for k, v in event["pathParameters"].items()}


@pytest.mark.usefixtures("aws", "reset_handler_caches")
@pytest.mark.parametrize("name", [n for n in ALL_EVENTS if n.startswith(tuple(API_HANDLERS))])
def test_api_events_are_answered_without_a_server_error(name, store):
    module = next(m for prefix, m in API_HANDLERS.items() if name.startswith(prefix))
    event = json.loads((EVENTS_DIR / name).read_text())

    prepare(name, event, store)
    response = module.handler(event, FakeContext())

    assert response["statusCode"] in (200, 201, 202, 204), response["body"]
    if response["statusCode"] != 204:
        assert isinstance(json.loads(response["body"]), dict)


LINKER_EVENTS = sorted(n for n in ALL_EVENTS if n.startswith("linker-"))


@pytest.mark.usefixtures("reset_handler_caches")
@pytest.mark.parametrize("name", LINKER_EVENTS)
def test_linker_events_are_processed_without_failures(name, store, tmp_path: Path):
    event = load(name)
    prepare(name, event, store)

    result = linker.handler(event, FakeContext())

    assert result == {"batchItemFailures": []}
    sink = tmp_path / "events.jsonl"
    published = [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []
    expected = {
        "linker-user-registered.json": ["UserRegistered"],
        "linker-claim-created.json": ["ClaimNotificationRequested"],
        "linker-profile-changed-hands.json": [],  # a re-key announces nothing
        "linker-identifier-proven.json": [],  # no sale was typed with the identifier: nothing to bring
        "linker-user-erasing.json": [],  # its last step writes `UserErased` as a publish effect of its own
        "linker-profile-unmerging.json": [],  # no such profile unmerging: done; else `ProfilesUnmerged` is its own
    }.get(name, ["ProfilesLinked"])
    assert [e["detail-type"] for e in published] == expected
    announced = {record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]}
    assert not announced & {f"PENDING#{e.kind}#{e.effect_id}" for e in store.all_pending()}  # done, so deleted


def test_the_committed_events_are_what_make_events_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_events", EVENTS_DIR / "make_events.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert set(module.EVENTS) == set(ALL_EVENTS)
    for name, event in module.EVENTS.items():
        assert load(name) == event, f"events/{name} drifted: run python events/make_events.py"
