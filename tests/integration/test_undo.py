"""Issue 29's undo over HTTP on the local runtime: a person disowning a window sale that a proof brought them,
and an unmerge and a disown refused once the retention time of what they would undo has passed."""

import time

import pytest

from tests.integration.test_identity import org, unique_email, unique_phone
from tests.integration.test_proof_per_sale import orders_seen, sale, settled, sign_up
from tests.integration.test_undo_unmerge import mistaken_merge

pytestmark = pytest.mark.integration


def test_a_disowned_window_sale_reaches_its_real_owner_when_they_verify_the_email_it_was_typed_with(runtime):
    owner_email, phone, venue = unique_email("owner"), unique_phone(), org()
    order_id = sale(runtime, venue, {"email": owner_email, "phone": phone})  # staff typed a stranger's phone
    stranger = sign_up(runtime, phone_number=phone, phone_number_verified=True)
    assert settled(runtime, [(stranger, {order_id})]) == [{order_id}]  # their proof brought it

    path = f"/v1/me/orders/{order_id}/disown"
    assert runtime.call("POST", path, stranger, json_body={}).status_code == 422  # a reason is required
    disowned = runtime.call("POST", path, stranger, json_body={"reason": "not my tickets"})
    assert disowned.status_code == 200, disowned.text
    assert disowned.json()["order_id"] == order_id
    assert orders_seen(runtime, stranger) == set()
    again = runtime.call("POST", path, stranger, json_body={"reason": "not my tickets"})
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"

    owner = sign_up(runtime, email=owner_email, email_verified=True)
    assert settled(runtime, [(owner, {order_id}), (stranger, set())]) == [{order_id}, set()]


def retention_passed(runtime, org_id, profile_id, prefix):
    """The moves under `prefix` in a profile's partition, as DynamoDB keeps them once their retention time has
    passed and before its TTL deletes them (it deletes within days, not at the second): `expiration` gone by."""
    from boto3.dynamodb.conditions import Key

    table = runtime.table()
    pk = f"ORG#{org_id}#PROFILE#{profile_id}"
    moves = table.query(KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with(prefix))["Items"]
    assert moves, (pk, prefix)
    for move in moves:
        table.update_item(
            Key={"pk": move["pk"], "sk": move["sk"]},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": int(time.time()) - 60},
        )


def test_past_the_retention_time_an_unmerge_and_a_disown_are_refused_with_a_clear_code(runtime):
    venue, me, admin, (_, own), (s_id, theirs), _ = mistaken_merge(runtime)
    retention_passed(runtime, venue, s_id, "UNDO#MERGE#")

    refused = runtime.call("POST", f"/v1/orgs/{venue}/profiles/{s_id}/unmerge", admin)

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "lineage_expired"
    assert "retention" in refused.json()["error"]["message"]
    assert orders_seen(runtime, me) == {own["order"]["order_id"], theirs["order"]["order_id"]}  # nothing moved

    owner_email, phone = unique_email("owner"), unique_phone()
    order_id = sale(runtime, venue, {"email": owner_email, "phone": phone})
    stranger = sign_up(runtime, phone_number=phone, phone_number_verified=True)
    settled(runtime, [(stranger, {order_id})])
    mine = runtime.call("GET", "/v1/me/profiles", stranger).json()["profiles"]
    (profile_id,) = [p["profile_id"] for p in mine if p["org_id"] == venue]  # where the proof brought the sale
    retention_passed(runtime, venue, profile_id, f"UNDO#ORDER#{order_id}#")

    path = f"/v1/me/orders/{order_id}/disown"
    disown = runtime.call("POST", path, stranger, json_body={"reason": "not mine"})

    assert (disown.status_code, disown.json()["error"]["code"]) == (409, "lineage_expired"), disown.text
    assert orders_seen(runtime, stranger) == {order_id}
