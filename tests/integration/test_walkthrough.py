"""The README walkthrough, run two ways against a local runtime of its own: `make demo` (the README's bash
block as written) and a typed client generated from docs/openapi.json (openapi-python-client), so a partner
or an app developer can trust both the README and the document."""

import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.integration.conftest import ROOT, TABLE, Runtime, local_runtime

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_walkthrough")]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with local_runtime(tmp_path_factory.mktemp("walkthrough")) as started:
        yield started


def test_make_demo_runs_the_readme_walkthrough_to_the_end_twice(runtime):
    env = {**os.environ, "API": runtime.base_url, "STATE_DIR": str(runtime.state_dir)}
    for _ in range(2):  # a second run over the first one's data passes too
        demo = subprocess.run(
            ["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )

        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        for step in range(1, 11):
            assert f"== step {step}: " in demo.stdout
        step_8 = demo.stdout.split("== step 8: ", 1)[1]
        assert '"code":"identifier_required"' in step_8  # the policy refused the anonymous sale
        assert '"kind":"settings_changed"' in step_8
        assert "period,first_day,last_day,channel,staff,sales" in step_8  # the report by till, as CSV
        step_9 = demo.stdout.split("== step 9: ", 1)[1]
        assert "verified" in step_9 and "erase: 204" in step_9 and "me: 404" in step_9
        assert '"profiles":[]' in step_9.replace(" ", "")  # staff find nobody by her email once erased
        step_10 = demo.stdout.split("== step 10: ", 1)[1]
        history_after = step_10.split('"unmerging_at"', 1)[1]  # Gus's history once the unmerge is done
        assert "ev-4" not in history_after.split('"kind":"moved"')[0] and "ev-1" in history_after
        assert '"move":"unmerge"' in step_10.replace(" ", "")
        assert "== the walkthrough ran to the end" in demo.stdout
        assert f"the README walkthrough against {runtime.base_url}" in demo.stdout


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory):
    """The typed client openapi-python-client generates from the committed document."""
    where = tmp_path_factory.mktemp("client")
    generated = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "docs" / "openapi.json"),
            "--meta",
            "none",
        ],
        cwd=where,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module("customer_profile_service_client")
    finally:
        sys.path.remove(str(where))


def operator(runtime: Runtime, *args: str) -> str:
    command = [sys.executable, "-m", "scripts.operator", "--endpoint", runtime.dynamodb_endpoint, "--table", TABLE]
    done = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.25)
    raise AssertionError("not within the time")


def test_the_generated_client_drives_the_walkthrough(runtime, client_package):
    from customer_profile_service_client.api.app import (
        claim_entitlements,
        my_history,
        place_consumer_order,
        register_me,
    )
    from customer_profile_service_client.api.org import create_pos_sale, list_org_profiles, put_staff_member
    from customer_profile_service_client.models import (
        OrderRequest,
        PartnerOrderResponse,
        PosSaleRequest,
        StaffMemberRequest,
    )

    def as_(token: str):
        return client_package.AuthenticatedClient(
            base_url=runtime.base_url, token=token, raise_on_unexpected_status=True
        )

    tag = uuid.uuid4().hex[:6]
    org = f"org-walk-{tag}"
    line = {"kind": "ticket", "item_id": "ev-1", "quantity": 2, "unit_price": 4500}

    # 1. A consumer app: sign up, buy, a retry is the same order, history shows it
    alice = as_(runtime.token(f"alice-{tag}", email=f"alice-{tag}@example.com", email_verified=True))
    assert register_me.sync_detailed(client=alice).status_code == 201
    order = OrderRequest.from_dict({"currency": "EUR", "payment_method": "card", "lines": [line]})
    first = place_consumer_order.sync_detailed(org, client=alice, body=order, idempotency_key=f"o-{tag}")
    retry = place_consumer_order.sync_detailed(org, client=alice, body=order, idempotency_key=f"o-{tag}")
    assert first.status_code == retry.status_code == 201
    assert first.parsed.profile_created and first.parsed.order.order_id == retry.parsed.order.order_id
    assert {e.order.order_id for e in my_history.sync(client=alice).entries if e.order} == {first.parsed.order.order_id}

    # 2. A white-label app registers its users into its org (the local IdP has one such client: org-demo's)
    operator(runtime, "register-app-client", "--client-id", "local-whitelabel-app", "--org-id", "org-demo")
    bea = as_(runtime.token(f"bea-{tag}", client_id="local-whitelabel-app", extra_claims={"given_name": "Bea"}))
    registered = register_me.sync(client=bea)
    assert registered.profile.org_id == "org-demo"

    # 3. Point of sale by staff (a membership), a dormant user for the typed email; an admin adds staff
    till = as_(runtime.token(f"till-{tag}", org_id=org, roles=["pos", "admin"]))
    sale = PosSaleRequest.from_dict(
        {"currency": "GBP", "payment_method": "cash", "customer": {"email": f"dana-{tag}@example.com"}, "lines": [line]}
    )
    sold = create_pos_sale.sync_detailed(org, client=till, body=sale, idempotency_key=f"s-{tag}")
    assert sold.status_code == 201 and not sold.parsed.profile.linked_account
    assert list_org_profiles.sync(org, client=till, email=f"dana-{tag}@example.com").profiles
    member = put_staff_member.sync(
        org, f"till-2-{tag}", client=till, body=StaffMemberRequest.from_dict({"roles": ["pos"]})
    )
    assert member.roles == ["pos"]

    # 4. Activation: the sale reaches Dana's history
    dana = as_(runtime.token(f"dana-{tag}", email=f"dana-{tag}@example.com", email_verified=True))
    assert register_me.sync_detailed(client=dana).status_code in (200, 201)
    sold_order = sold.parsed.order.order_id
    eventually(lambda: any(e.order and e.order.order_id == sold_order for e in my_history.sync(client=dana).entries))

    # 5. A reseller's signed order (raw bytes: the signature covers them), through the client's own transport
    secrets = runtime.state_dir / "partner-secrets.json"
    secret = operator(
        runtime,
        "register-partner",
        "--partner-id",
        f"rc-{tag}",
        "--name",
        "RC",
        "--org-id",
        org,
        "--secrets-file",
        str(secrets),
    )
    body = json.dumps(
        {"org_id": org, "currency": "EUR", "buyer": {"email": f"erin-{tag}@example.com"}, "lines": [line]}
    )
    message_id, now = f"msg_{tag}", datetime.datetime.now(datetime.UTC)
    signature = Webhook(secret).sign(message_id, now, body)
    anonymous = client_package.Client(base_url=runtime.base_url)
    answer = anonymous.get_httpx_client().post(
        f"/v1/partners/rc-{tag}/orders",
        content=body,
        headers={
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        },
    )
    assert answer.status_code == 201, answer.text
    assert PartnerOrderResponse.from_dict(answer.json()).entitlements == 2

    # 6. The claim link's last segment is the token; the buyer claims with it
    def claim_link():
        events = (runtime.state_dir / "events.jsonl").read_text().splitlines()
        links = [
            e["detail"]["claim_url"]
            for e in map(json.loads, events)
            if e["detail-type"] == "ClaimNotificationRequested" and e["detail"]["email"] == f"erin-{tag}@example.com"
        ]
        return links[-1] if links else None

    token = eventually(claim_link).rsplit("/", 1)[-1]
    erin = as_(runtime.token(f"erin-{tag}", email=f"erin-{tag}@example.com", email_verified=True))
    register_me.sync(client=erin)
    claimed = claim_entitlements.sync(token, client=erin)
    assert [e.status for e in claimed.entitlements] == ["active", "active"]
