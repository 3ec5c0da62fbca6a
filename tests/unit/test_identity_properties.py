"""Property: whatever window sales and reseller orders are typed with whatever mix of people's emails and
phones, and whatever each person later proves to the identity provider, nobody holds an identifier as
verified that they did not verify, an active user never holds a hint, and every sale is seen by exactly the
person who proved one of the identifiers it was typed with first (before the sale: the first of them, as
typed, that a person had proved), and by nobody while nobody has. On moto, the linker run to quiescence after
each sign-up."""

import os
import uuid

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from customer_profiles.clock import utc_now
from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import history, users
from customer_profiles.domain.sales import sale_plan
from customer_profiles.models.api import PosSaleRequest
from customer_profiles.models.domain import Proof
from tests.unit.conftest import each_example_from_empty, user_principal

PEOPLE = 3
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "20"))
# Hypothesis' explain phase traces every line run (moto's included) and runs out of memory on long runs.
WITHOUT_EXPLAIN = [phase for phase in Phase if phase is not Phase.explain]
LINES = [{"kind": "ticket", "item_id": "ev", "quantity": 1, "unit_price": 1}]
# What a window or a reseller types: an email, a phone, or both, of anyone
TYPED = st.one_of(
    st.tuples(st.just("email"), st.integers(0, PEOPLE - 1)).map(lambda i: [i]),
    st.tuples(st.just("phone"), st.integers(0, PEOPLE - 1)).map(lambda i: [i]),
    st.tuples(st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE - 1)).map(lambda p: [("email", p[0]), ("phone", p[1])]),
)
SALE = st.tuples(st.sampled_from(["window", "reseller"]), st.integers(0, 1), TYPED)
SIGN_UP = st.tuples(st.just("sign_up"), st.integers(0, PEOPLE - 1), st.sampled_from(["email", "phone", "both"]))
ACTIONS = st.lists(st.one_of(SALE, SIGN_UP), min_size=1, max_size=10)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=WITHOUT_EXPLAIN,
)
@given(actions=ACTIONS)
@each_example_from_empty
def test_nobody_collects_tickets_sold_to_identifiers_they_never_proved(store, actions):
    run = uuid.uuid4().hex[:8]  # fresh people and orgs for each example
    orgs = [f"org-{run}-{n}" for n in range(2)]
    email = [f"person{n}-{run}@example.com" for n in range(PEOPLE)]
    phone = [f"+4479111{run_digits(run, n)}" for n in range(PEOPLE)]
    owner = {("email", email[n]): n for n in range(PEOPLE)} | {("phone", phone[n]): n for n in range(PEOPLE)}
    verified: dict[int, set] = {n: set() for n in range(PEOPLE)}
    principals: dict[int, object] = {}
    proven_by: dict[tuple, int] = {}  # identifier -> the person who proved it first (nobody takes it after)
    typed_with: dict[str, list] = {}  # entitlement id -> the identifiers its sale was typed with, as typed
    owner_of: dict[str, int] = {}  # entitlement id -> the person it must reach (once someone proved one)

    for action in actions:
        if action[0] == "sign_up":
            _, n, which = action
            proved = {"email": {("email", email[n])}, "phone": {("phone", phone[n])}}.get(which) or {
                ("email", email[n]),
                ("phone", phone[n]),
            }
            principals[n] = principal = user_principal(
                f"person{n}-{run}",
                email=email[n],
                email_verified=("email", email[n]) in proved,
                phone_number=phone[n],
                phone_number_verified=("phone", phone[n]) in proved,
            )
            users.register_me(store, principal)
            verified[n] |= proved
            for identifier in sorted(proved):
                proven_by.setdefault(identifier, n)
            # Sales nobody had reached go to this person if they proved one of their identifiers just now
            for entitlement_id, typed in typed_with.items():
                if entitlement_id not in owner_of and any(proven_by.get(i) == n for i in typed):
                    owner_of[entitlement_id] = n
            assert not effects.redrive(store, lambda events: None).failed
            continue
        channel, org_index, picked = action
        identifiers = list(dict.fromkeys((kind, email[n] if kind == "email" else phone[n]) for kind, n in picked))
        identifiers.sort(key=lambda i: i[0])  # email first, as the API passes them
        already = next((proven_by[i] for i in identifiers if i in proven_by), None)
        for entitlement_id in sell(store, orgs[org_index], identifiers, channel):
            typed_with[entitlement_id] = identifiers
            if already is not None:
                owner_of[entitlement_id] = already

    # No user holds an identifier as verified that its person did not verify; active users hold no hints
    user_of = {n: users.current_user_id(store, p) for n, p in principals.items()}
    holdings = store.identifier_holders(list(owner))
    for identifier, holding in holdings.items():
        holder = store.get_user(holding.user_id)
        if holding.provenance == "verified":
            n = owner[identifier]
            assert identifier in verified[n] and user_of.get(n) == holding.user_id, identifier
        assert holder.status != "active" or holding.provenance == "verified", identifier

    # Each sale is seen by exactly the person who proved one of its identifiers first, and by nobody else
    seen_by: dict[str, set] = {e: set() for e in typed_with}
    for n, principal in principals.items():
        for entitlement_id in entitlements_in_history(store, principal):
            seen_by[entitlement_id].add(n)
    for entitlement_id, typed in typed_with.items():
        expected = {owner_of[entitlement_id]} if entitlement_id in owner_of else set()
        assert seen_by[entitlement_id] == expected, (typed, seen_by[entitlement_id], expected)
    assert store.all_pending() == []


def run_digits(run: str, n: int) -> str:
    return f"{(int(run, 16) + n) % 100000:05d}"


def sell(store, org_id, identifiers, channel):
    customer = sale_plan.Customer(identifiers=identifiers)
    request = PosSaleRequest.model_validate({"currency": "GBP", "payment_method": "cash", "lines": LINES})
    proof = (
        Proof(provenance="staff_captured", at=utc_now(), org_id=org_id)
        if channel == "window"
        else Proof(provenance="partner_asserted", at=utc_now(), partner_id="reseller")
    )
    planned = sale_plan.plan_sale(
        store,
        org_id,
        customer,
        request,
        payment_method="cash",
        channel="pos" if channel == "window" else "partner",
        origin="pos" if channel == "window" else "partner",
        proof=proof,
        entitlement_status="active" if channel == "window" else "pending_claim",
    )
    store.write_sale(planned.write)
    return [e.entitlement_id for e in planned.write.entitlements]


def entitlements_in_history(store, principal):
    found, cursor = [], None
    while True:
        page = history.history_of_me(store, principal, org_id=None, limit=50, cursor=cursor)
        found += [e.entitlement.entitlement_id for e in page.entries if e.entitlement]
        if not (cursor := page.next_cursor):
            return found
