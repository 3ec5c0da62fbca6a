"""Issue 29's undo over HTTP on the local runtime: a person disowning a window sale that a proof brought them."""

import pytest

from tests.integration.test_identity import org, unique_email, unique_phone
from tests.integration.test_proof_per_sale import orders_seen, sale, settled, sign_up

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
