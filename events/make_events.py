"""Writes events/*.json: one real event per function and route, in the shapes AWS sends.

Run `python events/make_events.py` after adding a route; tests drive every file through its handler.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
API_ID = "a1b2c3d4e5"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/customer-profiles-dev/stream/2026-11-25T00:00:00.000"
USER_CONTEXT = {
    "principalId": "local-user-alice",
    "kind": "user",
    "subject": "local-user-alice",
    "client_id": "local-consumer-app",
    "email": "alice@example.com",
    "email_verified": "true",
    "phone_number": "+447911123456",
    "phone_number_verified": "true",
    "token_use": "id",
    "memberships": "{}",
}
STAFF_CONTEXT = {
    **USER_CONTEXT,
    "principalId": "local-staff-bob",
    "kind": "staff",
    "subject": "local-staff-bob",
    "client_id": "local-staff-console",
    "email": "bob@venue.example",
    "phone_number": "",
    "phone_number_verified": "false",
    # what the authorizer read from the service's memberships (a token claim grants no role)
    "memberships": json.dumps({"org-demo": ["admin", "pos"]}),
}


def api_event(method, resource, path, *, path_parameters=None, body=None, context=None, headers=None, query=None):
    all_headers = {
        "Accept": "application/json",
        "Authorization": "Bearer <token from `make token`>",
        "Host": f"{API_ID}.execute-api.us-east-1.amazonaws.com",
        "X-Forwarded-For": "203.0.113.10",
        **({"Content-Type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "authorizer": context,
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "events/make_events.py"},
            "path": f"/dev{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1764086400000,
            "resourceId": "abc123",
            "resourcePath": resource,
            "stage": "dev",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


DORMANT_USER_ID = "5b2e9c4d7a1f4e3b9c8d2a6f0e1b3c5d"
SURVIVOR_USER_ID = "3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60"


def stream_record(event_name, keys, new_image, old_image=None, sequence="111100000000000000000001"):
    change = {
        "ApproximateCreationDateTime": 1764086400,
        "Keys": keys,
        "NewImage": new_image,
        "SequenceNumber": sequence,
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old_image:
        change["OldImage"] = old_image
    return {
        "eventID": f"{sequence[-8:]}dd709b024af6f29e4fa13d34c",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }


EVENTS = {
    "authorizer-request.json": {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/dev/GET/v1/me",
        "resource": "/v1/me",
        "path": "/v1/me",
        "httpMethod": "GET",
        "headers": {"Authorization": "Bearer <token from `make token`>"},
        "queryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {"accountId": "123456789012", "apiId": API_ID, "stage": "dev", "httpMethod": "GET"},
    },
    "app-api-put-me.json": api_event("PUT", "/v1/me", "/v1/me", context=USER_CONTEXT),
    "app-api-get-me.json": api_event("GET", "/v1/me", "/v1/me", context=USER_CONTEXT),
    "app-api-get-my-profiles.json": api_event("GET", "/v1/me/profiles", "/v1/me/profiles", context=USER_CONTEXT),
    "app-api-get-my-identifiers.json": api_event(
        "GET", "/v1/me/identifiers", "/v1/me/identifiers", context=USER_CONTEXT
    ),
    "app-api-delete-my-identifier.json": api_event(
        "DELETE",
        "/v1/me/identifiers/{kind}/{value}",
        "/v1/me/identifiers/phone/%2B447911123456",
        path_parameters={"kind": "phone", "value": "%2B447911123456"},
        context=USER_CONTEXT,
    ),
    "app-api-get-my-history.json": api_event(
        "GET", "/v1/me/history", "/v1/me/history", context=USER_CONTEXT, query={"limit": "10"}
    ),
    "app-api-post-order.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/orders",
        "/v1/orgs/org-demo/orders",
        path_parameters={"org_id": "org-demo"},
        context=USER_CONTEXT,
        headers={"Idempotency-Key": "3b1f0c52-order-1"},
        body={
            "currency": "EUR",
            "payment_method": "card",
            "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 4500}],
        },
    ),
    "app-api-get-my-org-profile.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/profile",
        "/v1/orgs/org-demo/profile",
        path_parameters={"org_id": "org-demo"},
        context=USER_CONTEXT,
    ),
    "app-api-patch-my-org-profile.json": api_event(
        "PATCH",
        "/v1/orgs/{org_id}/profile",
        "/v1/orgs/org-demo/profile",
        path_parameters={"org_id": "org-demo"},
        context=USER_CONTEXT,
        body={"version": 1, "attributes": {"display_name": "Alice at the Opera", "marketing_consent": True}},
    ),
    "app-api-put-my-consents.json": api_event(
        "PUT",
        "/v1/orgs/{org_id}/profile/consents",
        "/v1/orgs/org-demo/profile/consents",
        path_parameters={"org_id": "org-demo"},
        context=USER_CONTEXT,
        body={
            "consents": [
                {"purpose": "marketing_email", "status": "granted", "stated_at": "2026-11-24T18:30:00Z"},
                {"purpose": "marketing_sms", "status": "withdrawn"},
            ]
        },
    ),
    "org-api-post-pos-sale.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/pos/sales",
        "/v1/orgs/org-demo/pos/sales",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        headers={"Idempotency-Key": "till-3-sale-000981"},
        body={
            "currency": "GBP",
            "payment_method": "card",
            "customer": {
                "id_document": {"type": "driving_licence", "last_digits": "4821"},
                "given_name": "Dana",
                "family_name": "Okafor",
                "email": "dana.okafor@example.com",
                "phone": "+44 7911 123456",
                "card_fingerprint": "fp_7d2c9a41b8e3",
            },
            "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 3500}],
        },
    ),
    "org-api-list-profiles.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/profiles",
        "/v1/orgs/org-demo/profiles",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        query={"name": "oka", "limit": "10"},
    ),
    "org-api-get-profile.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/profiles/{profile_id}",
        "/v1/orgs/org-demo/profiles/PROFILE_ID",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID"},
        context=STAFF_CONTEXT,
        query={"limit": "10"},
    ),
    "org-api-list-profile-activity.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/profiles/{profile_id}/activity",
        "/v1/orgs/org-demo/profiles/PROFILE_ID/activity",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID"},
        context=STAFF_CONTEXT,
        query={"limit": "10"},
    ),
    "org-api-get-settings.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/settings",
        "/v1/orgs/org-demo/settings",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
    ),
    "org-api-put-settings.json": api_event(
        "PUT",
        "/v1/orgs/{org_id}/settings",
        "/v1/orgs/org-demo/settings",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        body={"version": 0, "pos_capture": "require"},
    ),
    "org-api-list-org-activity.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/activity",
        "/v1/orgs/org-demo/activity",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        query={"limit": "10"},
    ),
    "org-api-identification-report.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/reports/identification",
        "/v1/orgs/org-demo/reports/identification",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        query={"from": "2026-11-01", "to": "2026-11-30", "by": "week"},
    ),
    "org-api-patch-profile.json": api_event(
        "PATCH",
        "/v1/orgs/{org_id}/profiles/{profile_id}",
        "/v1/orgs/org-demo/profiles/PROFILE_ID",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID"},
        context=STAFF_CONTEXT,
        body={"version": 1, "attributes": {"display_name": "Dana O."}},
    ),
    "org-api-put-consents.json": api_event(
        "PUT",
        "/v1/orgs/{org_id}/profiles/{profile_id}/consents",
        "/v1/orgs/org-demo/profiles/PROFILE_ID/consents",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID"},
        context=STAFF_CONTEXT,
        body={"consents": [{"purpose": "marketing_email", "status": "granted", "stated_at": "2026-11-24T18:30:00Z"}]},
    ),
    "org-api-attach-identifier.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/profiles/{profile_id}/identifiers",
        "/v1/orgs/org-demo/profiles/PROFILE_ID/identifiers",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID"},
        context=STAFF_CONTEXT,
        body={"version": 1, "email": "walk.in@example.com"},
    ),
    "org-api-void-entitlement.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/profiles/{profile_id}/entitlements/{entitlement_id}/void",
        "/v1/orgs/org-demo/profiles/PROFILE_ID/entitlements/ENTITLEMENT_ID/void",
        path_parameters={"org_id": "org-demo", "profile_id": "PROFILE_ID", "entitlement_id": "ENTITLEMENT_ID"},
        context=STAFF_CONTEXT,
    ),
    "org-api-list-staff.json": api_event(
        "GET",
        "/v1/orgs/{org_id}/staff",
        "/v1/orgs/org-demo/staff",
        path_parameters={"org_id": "org-demo"},
        context=STAFF_CONTEXT,
        query={"limit": "25"},
    ),
    "org-api-put-staff-member.json": api_event(
        "PUT",
        "/v1/orgs/{org_id}/staff/{subject}",
        "/v1/orgs/org-demo/staff/local-staff-carol",
        path_parameters={"org_id": "org-demo", "subject": "local-staff-carol"},
        context=STAFF_CONTEXT,
        body={"roles": ["pos"]},
    ),
    "org-api-delete-staff-member.json": api_event(
        "DELETE",
        "/v1/orgs/{org_id}/staff/{subject}",
        "/v1/orgs/org-demo/staff/local-staff-carol",
        path_parameters={"org_id": "org-demo", "subject": "local-staff-carol"},
        context=STAFF_CONTEXT,
    ),
    "partner-webhooks-post-order.json": api_event(
        "POST",
        "/v1/partners/{partner_id}/orders",
        "/v1/partners/partner-demo/orders",
        path_parameters={"partner_id": "partner-demo"},
        headers={
            "Authorization": "",
            "webhook-id": "msg_2Kp9x7PartnerDemo0001",
            "webhook-timestamp": "1764086400",
            "webhook-signature": "v1,<sign with the partner's secret: see README>",
        },
        body={
            "org_id": "org-demo",
            "external_order_id": "pd-1001",
            "currency": "EUR",
            "buyer": {"email": "buyer@example.com", "given_name": "Bo"},
            "lines": [{"kind": "ticket", "item_id": "ev-2027-opening", "quantity": 2, "unit_price": 5200}],
        },
    ),
    "org-api-resend-claim.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/claims/{claim_id}/resend",
        "/v1/orgs/org-demo/claims/CLAIM_ID/resend",
        path_parameters={"org_id": "org-demo", "claim_id": "CLAIM_ID"},
        context=STAFF_CONTEXT,
    ),
    "org-api-cancel-claim.json": api_event(
        "POST",
        "/v1/orgs/{org_id}/claims/{claim_id}/cancel",
        "/v1/orgs/org-demo/claims/CLAIM_ID/cancel",
        path_parameters={"org_id": "org-demo", "claim_id": "CLAIM_ID"},
        context=STAFF_CONTEXT,
    ),
    "partner-webhooks-post-order-cancelled.json": api_event(
        "POST",
        "/v1/partners/{partner_id}/orders",
        "/v1/partners/partner-demo/orders",
        path_parameters={"partner_id": "partner-demo"},
        headers={
            "Authorization": "",
            "webhook-id": "msg_2Kp9x7PartnerDemo0002",
            "webhook-timestamp": "1764086400",
            "webhook-signature": "v1,<sign with the partner's secret: see README>",
        },
        body={"type": "order.cancelled", "org_id": "org-demo", "external_order_id": "pd-1001"},
    ),
    "app-api-post-receipt.json": api_event(
        "POST",
        "/v1/receipts/{code}",
        "/v1/receipts/RECEIPT_CODE",
        path_parameters={"code": "RECEIPT_CODE"},
        context=USER_CONTEXT,
    ),
    "app-api-post-claim.json": api_event(
        "POST",
        "/v1/claims/{token}",
        "/v1/claims/CLAIM_TOKEN",
        path_parameters={"token": "CLAIM_TOKEN"},
        context=USER_CONTEXT,
    ),
    "app-api-get-my-claims.json": api_event(
        "GET", "/v1/me/claims", "/v1/me/claims", context=USER_CONTEXT, query={"limit": "10"}
    ),
    "app-api-post-accept-claim.json": api_event(
        "POST",
        "/v1/me/claims/{claim_id}/accept",
        "/v1/me/claims/CLAIM_ID/accept",
        path_parameters={"claim_id": "CLAIM_ID"},
        context=USER_CONTEXT,
    ),
}


def pending_record(kind, effect_id, cause, sequence):
    """The stream's INSERT of a pending effect: what the linker completes."""
    created_at = "2026-11-25T16:00:00.000Z"
    key = {"pk": {"S": f"PENDING#{kind}#{effect_id}"}, "sk": {"S": "PENDING"}}
    image = {
        **key,
        "type": {"S": "pending"},
        "kind": {"S": kind},
        "effect_id": {"S": effect_id},
        "cause": {"M": {name: attribute(value) for name, value in cause.items()}},
        "created_at": {"S": created_at},
        "gsi2pk": {"S": "PENDING#0"},
        "gsi2sk": {"S": f"{created_at}#{kind}#{effect_id}"},
    }
    return {"Records": [stream_record("INSERT", key, image, sequence=sequence)]}


def attribute(value):
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: attribute(v) for k, v in value.items()}}
    raise TypeError(value)


REGISTERED_USER_ID = "3f0c8a1e9b7d4c2a8e6f1b2c3d4e5f60"
ERASED_USER_ID = "9a8b7c6d5e4f30211f2e3d4c5b6a7988"
EVENTS["linker-user-registered.json"] = pending_record(
    "publish",
    f"registered#{REGISTERED_USER_ID}",
    {
        "detail_type": "UserRegistered",
        "detail": {"user_id": REGISTERED_USER_ID, "created_at": "2026-11-25T16:00:00.000Z"},
    },
    "111100000000000000000001",
)
EVENTS["linker-user-activated.json"] = pending_record(
    "announce_activation", f"{DORMANT_USER_ID}#2", {"user_id": DORMANT_USER_ID}, "111100000000000000000002"
)
EVENTS["linker-user-merged.json"] = pending_record(
    "link_user",
    DORMANT_USER_ID,
    {"from_user_id": DORMANT_USER_ID, "to_user_id": SURVIVOR_USER_ID},
    "111100000000000000000003",
)
EVENTS["linker-profile-changed-hands.json"] = pending_record(
    "rekey_profile",
    "org-demo#d4c3b2a1e5f60718293a4b5c6d7e8f90#2",
    {"org_id": "org-demo", "profile_id": "d4c3b2a1e5f60718293a4b5c6d7e8f90", "user_id": SURVIVOR_USER_ID},
    "111100000000000000000004",
)
EVENTS["linker-identifier-proven.json"] = pending_record(
    "bring_sales",
    f"{SURVIVOR_USER_ID}#5d41402abc4b2a76b9719d911017c592#2026-11-25T16:00:00.000Z",
    {"kind": "phone", "value": "+447911123456", "user_id": SURVIVOR_USER_ID, "proven_at": "2026-11-25T16:00:00.000Z"},
    "111100000000000000000006",
)
EVENTS["linker-user-erasing.json"] = pending_record(
    "erase_user",
    ERASED_USER_ID,
    {"user_id": ERASED_USER_ID, "identifiers": [["email", "erin@example.com"]], "at": "2026-11-25T16:00:00.000Z"},
    "111100000000000000000007",
)
EVENTS["linker-profile-unmerging.json"] = pending_record(
    "unmerge_profile",
    "org-demo#d4c3b2a1e5f60718293a4b5c6d7e8f90#4",
    {
        "org_id": "org-demo",
        "profile_id": "d4c3b2a1e5f60718293a4b5c6d7e8f90",
        "into": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "requested_at": "2026-11-25T16:00:00.000Z",
        "by": {"kind": "staff", "subject": "admin-demo", "role": "admin"},
    },
    "111100000000000000000009",
)
EVENTS["linker-claim-created.json"] = pending_record(
    "notify_claim",
    "c1a2b3c4d5e6f708192a3b4c5d6e7f80",
    {
        "claim": {
            "claim_id": "c1a2b3c4d5e6f708192a3b4c5d6e7f80",
            "org_id": "org-demo",
            "partner_id": "partner-demo",
            "profile_id": "d4c3b2a1e5f60718293a4b5c6d7e8f90",
            "order_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "entitlement_ids": ["e0000000000000000000000000000001", "e0000000000000000000000000000002"],
            "email": "buyer@example.com",
            "status": "open",
            "expires_at": "2026-12-25T16:00:00.000Z",
            "created_at": "2026-11-25T16:00:00.000Z",
        },
        "notice": "ClaimNotificationRequested",
    },
    "111100000000000000000005",
)


if __name__ == "__main__":
    for name, event in EVENTS.items():
        (HERE / name).write_text(json.dumps(event, indent=2) + "\n")
        print(f"wrote events/{name}")
