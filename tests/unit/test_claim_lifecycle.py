"""Issue 14's claim lifecycle on moto: staff resend and cancel, the partner's order.cancelled and
order.recipient_changed events, and a cancellation racing an acceptance (one wins, the other is told)."""

import json

import pytest

from customer_profiles.domain.claims import claim_lifecycle, claim_tokens, claims
from customer_profiles.edge.secrets import claim_token_key
from customer_profiles.errors import Forbidden, Gone, InvalidInput, NotFound, StateConflict, TooManyAttempts
from tests.unit import test_partners
from tests.unit.conftest import staff_principal, user_principal
from tests.unit.test_partners import ORG, accept, order_body, signed

secret = test_partners.secret  # the partner and its signing secret, as a fixture
BUYER = "buyer@example.com"


def order(store, secret, external_order_id="rc-1", webhook_id="msg_order"):
    body = order_body(external_order_id=external_order_id)
    answer, _ = accept(store, signed(secret, body, webhook_id), body)
    return answer


def claim_item(store, claim_id):
    (item,) = [i for i in store.db.table.scan()["Items"] if i.get("type") == "claim" and i["claim_id"] == claim_id]
    return item


def entitlement_statuses(store):
    return sorted(i["status"] for i in store.db.table.scan()["Items"] if i.get("type") == "entitlement")


def event(secret, webhook_id, **body):
    text = json.dumps({"org_id": ORG, **body})
    return signed(secret, text, webhook_id), text


def staff(*roles, org=ORG):
    return staff_principal("staff-1", org, *roles)


def link(claim_id):
    return claim_tokens.claim_token(claim_id, claim_token_key())


def notices(store):
    return sorted(
        (e.effect_id, e.cause.get("notice"))
        for e in store.all_pending()
        if e.kind == "notify_claim" and "claim" in e.cause
    )


# --- staff cancel -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["admin", "pos"])
def test_staff_cancel_voids_what_is_pending_kills_the_link_and_hides_the_claim(store, secret, role):
    claim_id = order(store, secret)["claim_id"]

    done = claim_lifecycle.cancel_by_staff(store, staff(role), ORG, claim_id, claim_token_key())

    assert done.claim.status == "cancelled" and len(done.voided) == 2
    assert entitlement_statuses(store) == ["void", "void"]
    buyer = user_principal(email=BUYER, email_verified=True)
    assert claims.open_claims_of_me(store, buyer, limit=10, cursor=None).claims == []
    with pytest.raises(Gone, match="cancelled"):
        claims.claim_entitlements(store, buyer, link(claim_id))
    again = claim_lifecycle.cancel_by_staff(store, staff(role), ORG, claim_id, claim_token_key())
    assert again.claim.status == "cancelled" and again.voided == done.voided  # idempotent: the first answer


@pytest.mark.parametrize(
    ("who", "error"),
    [(staff("viewer"), Forbidden), (staff("admin", org="org-other"), NotFound), (user_principal(), NotFound)],
)
def test_only_the_orgs_sellers_cancel_or_resend(store, secret, who, error):
    claim_id = order(store, secret)["claim_id"]

    with pytest.raises(error):
        claim_lifecycle.cancel_by_staff(store, who, ORG, claim_id, claim_token_key())
    with pytest.raises(error):
        claim_lifecycle.resend_by_staff(store, who, ORG, claim_id, claim_token_key())
    assert claim_item(store, claim_id)["status"] == "open"


def test_another_orgs_claim_id_is_not_found(store, secret):
    claim_id = order(store, secret)["claim_id"]
    with pytest.raises(NotFound):
        claim_lifecycle.cancel_by_staff(
            store, staff("admin", org="org-other"), "org-other", claim_id, claim_token_key()
        )


def test_staff_cannot_cancel_a_claimed_claim(store, secret):
    claim_id = order(store, secret)["claim_id"]
    claims.claim_entitlements(store, user_principal(email=BUYER, email_verified=True), link(claim_id))

    with pytest.raises(StateConflict):
        claim_lifecycle.cancel_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
    assert entitlement_statuses(store) == ["active", "active"]


# --- a cancellation racing an acceptance --------------------------------------------------------------------------
def test_a_cancellation_landing_first_makes_the_racing_acceptance_410(store, secret, monkeypatch):
    claim_id = order(store, secret)["claim_id"]
    real_use = store.use_claim

    def cancelled_meanwhile(*args, **kwargs):  # the acceptance read the claim open; staff cancel before it writes
        monkeypatch.setattr(store, "use_claim", real_use)
        claim_lifecycle.cancel_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
        return real_use(*args, **kwargs)

    monkeypatch.setattr(store, "use_claim", cancelled_meanwhile)

    with pytest.raises(Gone, match="cancelled"):
        claims.claim_entitlements(store, user_principal(email=BUYER, email_verified=True), link(claim_id))
    assert claim_item(store, claim_id)["status"] == "cancelled"
    assert entitlement_statuses(store) == ["void", "void"]


def test_an_acceptance_landing_first_makes_the_racing_cancellation_report_them(store, secret, monkeypatch):
    claim_id = order(store, secret)["claim_id"]
    real_cancel = store.cancel_claim
    buyer = user_principal(email=BUYER, email_verified=True)

    def claimed_meanwhile(*args, **kwargs):
        monkeypatch.setattr(store, "cancel_claim", real_cancel)
        claims.claim_entitlements(store, buyer, link(claim_id))
        return real_cancel(*args, **kwargs)

    monkeypatch.setattr(store, "cancel_claim", claimed_meanwhile)
    headers, body = event(secret, "msg_cancel", type="order.cancelled", external_order_id="rc-1")

    answer, outcome = accept(store, headers, body)

    assert outcome == "applied"
    assert answer["claim_status"] == "claimed" and answer["voided"] == [] and len(answer["not_cancellable"]) == 2
    assert entitlement_statuses(store) == ["active", "active"]


# --- staff resend -----------------------------------------------------------------------------------------------
def test_a_resend_asks_for_the_notification_again_under_its_own_id_and_is_rate_limited(store, secret):
    claim_id = order(store, secret)["claim_id"]

    resent = claim_lifecycle.resend_by_staff(store, staff("pos"), ORG, claim_id, claim_token_key())

    assert resent.resends == 1
    assert (f"{claim_id}#resend#1", "ClaimNotificationRequested") in notices(store)
    with pytest.raises(TooManyAttempts) as limited:
        claim_lifecycle.resend_by_staff(store, staff("pos"), ORG, claim_id, claim_token_key())
    assert 0 < limited.value.retry_after_seconds <= 601


def test_resends_are_bounded_and_only_for_open_claims(store, secret):
    claim_id = order(store, secret)["claim_id"]
    item = claim_item(store, claim_id)
    key = {"pk": item["pk"], "sk": item["sk"]}
    for _ in range(claim_lifecycle.MAX_RESENDS):
        claim_lifecycle.resend_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
        store.db.table.update_item(Key=key, UpdateExpression="REMOVE resent_at")  # as if 10 minutes passed

    with pytest.raises(StateConflict):
        claim_lifecycle.resend_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
    assert len([n for n in notices(store) if "#resend#" in n[0]]) == claim_lifecycle.MAX_RESENDS

    claim_lifecycle.cancel_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
    with pytest.raises(StateConflict):
        claim_lifecycle.resend_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())


def test_concurrent_resends_send_one(store, secret, monkeypatch):
    claim_id = order(store, secret)["claim_id"]
    real_get = store.get_claim
    reads = []

    def stale(hashed):  # both resends read the claim before either wrote
        reads.append(hashed)
        claim = real_get(hashed)
        return claim.model_copy(update={"resends": 0, "resent_at": None}) if len(reads) <= 2 else claim

    claim_lifecycle.resend_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
    monkeypatch.setattr(store, "get_claim", stale)

    with pytest.raises(TooManyAttempts):  # its transaction failed on the count; read again, it is too soon
        claim_lifecycle.resend_by_staff(store, staff("admin"), ORG, claim_id, claim_token_key())
    assert len([n for n in notices(store) if "#resend#" in n[0]]) == 1


# --- partner events -------------------------------------------------------------------------------------------
def test_order_cancelled_voids_the_pending_entitlements_once(store, secret):
    claim_id = order(store, secret)["claim_id"]
    headers, body = event(secret, "msg_cancel", type="order.cancelled", external_order_id="rc-1")

    answer, outcome = accept(store, headers, body)
    replay, replayed = accept(store, headers, body)

    assert outcome == "applied" and replayed == "redelivered" and replay == answer
    assert answer["claim_id"] == claim_id and answer["claim_status"] == "cancelled" and len(answer["voided"]) == 2
    assert entitlement_statuses(store) == ["void", "void"]
    with pytest.raises(Gone):
        claims.claim_entitlements(store, user_principal(email=BUYER, email_verified=True), link(claim_id))


@pytest.mark.parametrize("external_order_id", ["rc-unknown", "rc-1"])
def test_an_event_about_an_order_the_partner_did_not_send_here_is_not_found(store, secret, external_order_id):
    order(store, secret, external_order_id="rc-1")
    org = ORG if external_order_id == "rc-unknown" else "org-elsewhere"
    store.put_partner(
        test_partners.Partner(partner_id=test_partners.PARTNER, display_name="R", org_ids=[ORG, "org-elsewhere"]),
        "2026-01-01T00:00:00Z",
    )
    text = json.dumps({"type": "order.cancelled", "org_id": org, "external_order_id": external_order_id})

    with pytest.raises(NotFound):
        accept(store, signed(secret, text, "msg_x"), text)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "order.refunded", "external_order_id": "rc-1"},
        {"type": "order.cancelled"},
        {"type": "order.recipient_changed", "external_order_id": "rc-1", "buyer": {"email": "bad@"}},
        {"type": 7, "external_order_id": "rc-1"},
    ],
)
def test_malformed_events_are_invalid_input(store, secret, body):
    order(store, secret)
    headers, text = event(secret, "msg_bad", **body)
    with pytest.raises(InvalidInput):
        accept(store, headers, text)


def test_a_recipient_change_replaces_the_claim_kills_the_old_link_and_notifies_the_new_buyer(store, secret):
    old_id = order(store, secret)["claim_id"]
    headers, body = event(
        secret, "msg_move", type="order.recipient_changed", external_order_id="rc-1", buyer={"email": "New@Example.com"}
    )

    answer, outcome = accept(store, headers, body)

    new_id = answer["claim_id"]
    assert outcome == "applied" and new_id != old_id and answer["claim_status"] == "open"
    assert claim_item(store, old_id)["status"] == "cancelled" and claim_item(store, old_id)["replaced_by"] == new_id
    assert (new_id, "ClaimNotificationRequested") in notices(store)
    old_buyer = user_principal(email=BUYER, email_verified=True)
    new_buyer = user_principal(email="new@example.com", email_verified=True)
    assert claims.open_claims_of_me(store, old_buyer, limit=10, cursor=None).claims == []
    assert [c.claim_id for c in claims.open_claims_of_me(store, new_buyer, limit=10, cursor=None).claims] == [new_id]
    with pytest.raises(Gone):
        claims.claim_entitlements(store, old_buyer, link(old_id))
    taken = claims.claim_entitlements(store, new_buyer, link(new_id))
    assert {e.status for e in taken.entitlements} == {"active"}
    # Later events about the order act on the new claim.
    headers, body = event(secret, "msg_cancel", type="order.cancelled", external_order_id="rc-1")
    cancelled, _ = accept(store, headers, body)
    assert cancelled["claim_id"] == new_id and cancelled["claim_status"] == "claimed"


def test_a_claimed_order_cannot_change_recipient(store, secret):
    claim_id = order(store, secret)["claim_id"]
    claims.claim_entitlements(store, user_principal(email=BUYER, email_verified=True), link(claim_id))
    headers, body = event(
        secret, "msg_move", type="order.recipient_changed", external_order_id="rc-1", buyer={"email": "n@example.com"}
    )

    with pytest.raises(StateConflict):
        accept(store, headers, body)
