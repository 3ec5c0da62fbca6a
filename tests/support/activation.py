"""A person whose dormant holders (one for their email, one for their phone) carry 1,000 window tickets across
5 orgs signs up verifying both: the requests the sign-up and every pending effect it leaves take, run as the
linker runs them from the stream. Asserted by tests/integration/test_linking_cost.py, printed by `make bench`."""

from collections import Counter

from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import history, users
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import memberships
from customer_profiles.models.api import PosSaleRequest
from customer_profiles.models.principal import Principal
from tests.support.requests import requests_of

ORGS = [f"org-cost-{n}" for n in range(5)]
EMAIL, PHONE = "many.tickets@example.com", "+447911123456"
TICKETS_PER_ORDER = 4


def sell(store, org_id, count, **customer):
    memberships.grant(store, org_id, "till", ["pos"])
    seller = Principal(kind="staff", subject="till", client_id="staff", memberships={org_id: frozenset({"pos"})})
    lines = [{"kind": "ticket", "item_id": "ev", "quantity": TICKETS_PER_ORDER, "unit_price": 100}]
    request = PosSaleRequest.model_validate(
        {"currency": "GBP", "payment_method": "cash", "lines": lines, "customer": customer}
    )
    for _ in range(count):
        pos.create_pos_sale(store, seller, org_id, request)


def run_as_the_stream(store) -> Counter[str]:
    """Complete each pending effect as its stream record makes the linker (read it, do it, delete it), and
    those they leave, until none is left: the requests that takes (listing what is pending is the test's own
    read, not counted)."""
    counted: Counter[str] = Counter()
    while pending := store.all_pending():
        counted += requests_of(store, lambda: [effects.complete(store, e, lambda events: None) for e in pending])
    return counted


def tickets_seen(store, principal) -> int:
    seen, cursor = 0, None
    while True:
        page = history.history_of_me(store, principal, org_id=None, limit=100, cursor=cursor)
        seen += sum(1 for e in page.entries if e.entitlement)
        if not (cursor := page.next_cursor):
            return seen


def activation_of_1000_tickets(store) -> Counter[str]:
    """In each org, 1 sale typed with the email and 49 with the phone, 4 tickets each (1,000 tickets, 250
    orders): the email's holder becomes the person's, the phone's is merged into it, and in each org its
    profile merges into theirs."""
    for org_id in ORGS:
        sell(store, org_id, 1, email=EMAIL)
        sell(store, org_id, 49, phone=PHONE)
    run_as_the_stream(store)
    person = Principal(
        kind="user",
        subject="many",
        client_id="app",
        email=EMAIL,
        email_verified=True,
        phone_number=PHONE,
        phone_number_verified=True,
    )
    counted = requests_of(store, lambda: users.register_me(store, person)) + run_as_the_stream(store)
    assert tickets_seen(store, person) == 1000
    return counted
